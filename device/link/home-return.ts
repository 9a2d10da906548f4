/**
 * Back to the first node: a kiosk of a cluster that is connected to another node than the first of its
 * order (its home: the order spreads a fleet evenly, shared/gateway-order.ts) goes back home now and
 * then, so that a node that died or was upgraded gets its kiosks back and the fleet is even again
 * after a rolling upgrade, without anyone rebalancing it.
 *
 * Unhurried and never at a bad moment: it tries a random time between `afterMs` and twice that after
 * it reached the other node (a fleet spreads its return over that window); it waits while an SOS alert
 * is in the outbox, an alarm is open (one younger than press.reopenAfterMs) or a call is on, looking
 * again after min(afterMs, 60 s). The link makes the try (MqttLink.returnHome): at most 3 s away from
 * the node it left, and back there at once should home not take it or an alert come. Each try that
 * ends back on the other node doubles the wait before the next (up to 6 hours, or `afterMs` if longer):
 * a home that accepts connections but will not take the kiosk (hung, refusing it, its certificate
 * wrong) costs a few seconds a day, and is said once at its third failure. `afterMs` 0: never.
 */
import type { Logger } from "pino";

/** What this needs of the link (MqttLink). */
export interface HomeLink {
  readonly isUp: boolean;
  readonly atHome: boolean;
  readonly url: string;
  readonly homeUrl: string;
  returnHome(): boolean;
  on(event: "up" | "down", listener: () => void): unknown;
}

export interface HomeReturnOptions {
  readonly afterMs: number;
  readonly random?: () => number;
}

/** While busy, looked at again this often (or after `afterMs`, when shorter). */
const BUSY_RETRY_MS = 60_000;
/** Failed tries space the next ones out to at most this (or `afterMs`, when longer). */
const MAX_SPACING_MS = 6 * 60 * 60 * 1_000;
/** Failed tries in a row after which the kiosk says so (at warn). */
const SAY_AFTER_FAILURES = 3;

export class HomeReturn {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A try was made and its outcome is the next "up". */
  private trying = false;
  /** Tries in a row that ended back on the other node. */
  private failures = 0;

  constructor(
    private readonly link: HomeLink,
    /** An SOS alert waiting, an open alarm, a call: not now. */
    private readonly busy: () => boolean,
    private readonly options: HomeReturnOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.options.afterMs <= 0) return;
    this.link.on("up", () => this.onUp());
    this.link.on("down", () => this.cancel());
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** How long before the next try (before its jitter): doubled by each failed try, capped. */
  get spacingMs(): number {
    const { afterMs } = this.options;
    return Math.min(afterMs * 2 ** Math.min(this.failures, 30), Math.max(afterMs, MAX_SPACING_MS));
  }

  private onUp(): void {
    // Home, however it got there (a try, or the round of the list after a drop): the spacing starts over.
    if (this.link.atHome) this.failures = 0;
    if (this.trying) {
      this.trying = false;
      // A try cut short by a press (the alert still waits) says nothing about home.
      if (!this.link.atHome && !this.busy()) {
        this.failures += 1;
        if (this.failures === SAY_AFTER_FAILURES) {
          this.log.warn({ home: this.link.homeUrl, url: this.link.url, failures: this.failures, nextInMs: this.spacingMs }, "the first gateway node keeps not taking this kiosk: staying where it is, trying less often");
        }
      }
    }
    this.arm(this.spacingMs * (1 + (this.options.random ?? Math.random)()));
  }

  private arm(ms: number): void {
    this.cancel();
    if (this.stopped || this.link.atHome) return;
    this.timer = setTimeout(() => this.look(), ms);
    this.timer.unref();
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private look(): void {
    this.timer = undefined;
    if (this.stopped || !this.link.isUp || this.link.atHome) return;
    if (this.busy()) return this.arm(Math.min(this.options.afterMs, BUSY_RETRY_MS));
    this.trying = this.link.returnHome();
  }
}

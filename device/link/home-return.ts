/**
 * Back to the first node: a kiosk of a cluster that is connected to another node than the first of its
 * order (its home: the order spreads a fleet evenly, shared/gateway-order.ts) goes back home once home
 * answers again, so that a node that died or was upgraded gets its kiosks back and the fleet is even
 * again after a rolling upgrade, without anyone rebalancing it.
 *
 * Unhurried and never at a bad moment: the first look comes a random time between `afterMs` and twice
 * that after the kiosk reached the other node (a fleet spreads its return over that window); it waits
 * while an alert is in the outbox, an alarm is open or a call is on; home must first answer a TCP
 * connect within `probeTimeoutMs` (a home still down costs nothing but that probe); then the link
 * moves (MqttLink.returnHome: a clean disconnect, a connect at once). `afterMs` 0: never.
 */
import { connect } from "node:net";
import type { Logger } from "pino";

/** What this needs of the link (MqttLink). */
export interface HomeLink {
  readonly isUp: boolean;
  readonly atHome: boolean;
  readonly homeUrl: string;
  returnHome(): void;
  on(event: "up" | "down", listener: () => void): unknown;
}

export interface HomeReturnOptions {
  readonly afterMs: number;
  readonly probeTimeoutMs: number;
  readonly random?: () => number;
}

/** While busy, looked at again this often (or after `afterMs`, when shorter). */
const BUSY_RETRY_MS = 60_000;

/** Whether a TCP connect to the URL's host and port is answered within `timeoutMs`. */
export function answersTcp(url: string, timeoutMs: number): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, "");
    port = u.port === "" ? (u.protocol === "mqtts:" ? 8883 : 1883) : Number(u.port);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export class HomeReturn {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly link: HomeLink,
    /** An alert in the outbox, an open alarm, a call: not now. */
    private readonly busy: () => boolean,
    private readonly options: HomeReturnOptions,
    private readonly log: Logger,
    private readonly probe: (url: string, timeoutMs: number) => Promise<boolean> = answersTcp,
  ) {}

  start(): void {
    if (this.options.afterMs <= 0) return;
    this.link.on("up", () => this.arm(this.unhurried()));
    this.link.on("down", () => this.cancel());
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private unhurried(): number {
    return this.options.afterMs * (1 + (this.options.random ?? Math.random)());
  }

  private arm(ms: number): void {
    this.cancel();
    if (this.stopped || this.link.atHome) return;
    this.timer = setTimeout(() => void this.look(), ms);
    this.timer.unref();
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async look(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || !this.link.isUp || this.link.atHome) return;
    const retryMs = Math.min(this.options.afterMs, BUSY_RETRY_MS);
    if (this.busy()) return this.arm(retryMs);
    const home = this.link.homeUrl;
    const answered = await this.probe(home, this.options.probeTimeoutMs);
    // Moved or stopped meanwhile: the next "up" arms again.
    if (this.stopped || !this.link.isUp || this.link.atHome) return;
    if (!answered) {
      this.log.debug({ home }, "first gateway node still does not answer: staying");
      return this.arm(this.unhurried());
    }
    if (this.busy()) return this.arm(retryMs);
    this.link.returnHome();
  }
}

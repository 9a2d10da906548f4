/**
 * The scheduled end-to-end test of the SMS path: every `everyH` plus a random delay up to `jitterH`
 * (a fleet does not test at once), an SMS test alert (kind T, a fresh alertId, never in the outbox)
 * goes to the first centre number; the centre answers SOSACK1 by SMS. No answer within
 * `ackTimeoutMs`, or no SMS at all, is a failed test: the backup path is reported broken (a
 * "sms-test" fault in the heartbeat makes the kiosk degraded) until a later test passes.
 * The schedule is kept on disk (SmsState): a restart does not reset it.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { FallbackConfig } from "../../shared/config/kiosk.js";
import type { IncomingSms, Modem } from "../../shared/modem/modem.js";
import { sendSmsWithRetry } from "../../shared/modem/send-retry.js";
import { decodeSmsAck, encodeSmsAlert } from "../../shared/sms-alert.js";
import type { SmsState } from "./sms-state.js";

const HOUR_MS = 3_600_000;
/** setTimeout's limit; a longer wait is re-armed. */
const MAX_SLEEP_MS = 2_147_483_647;

export interface SmsTestDeps {
  readonly kioskId: string;
  readonly modem: Modem;
  readonly clock: Clock;
  readonly log: Logger;
  readonly state: SmsState;
  readonly key: Buffer;
  readonly random: () => number;
  /** The result changed (the health report re-evaluates the backup path). */
  readonly onResult: (ok: boolean) => void;
  /** Why the test must wait now (an SOS alarm is open), or null. */
  readonly busy: () => string | null;
}

export class SmsPathTest {
  private timer: NodeJS.Timeout | undefined;
  private waiting: { alertId: string; resolve: () => void } | undefined;
  private stopped = false;
  private readonly onSms = (sms: IncomingSms): void => {
    const ack = decodeSmsAck(sms.text, this.deps.key);
    if (ack.ok && this.waiting?.alertId === ack.value.alertId) this.waiting.resolve();
  };

  constructor(
    private readonly config: FallbackConfig["smsTest"],
    private readonly numbers: readonly string[],
    private readonly deps: SmsTestDeps,
  ) {}

  start(): void {
    if (!this.config.enabled) return;
    this.deps.modem.on("sms", this.onSms);
    const saved = this.deps.state.current.nextTestAt;
    const now = this.deps.clock.now().getTime();
    const next = saved === null || Date.parse(saved) > now + (this.config.everyH + this.config.jitterH) * HOUR_MS ? this.nextAfter(now) : Date.parse(saved);
    this.deps.state.scheduleTest(new Date(next));
    this.arm(next);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.deps.modem.off("sms", this.onSms);
    this.waiting?.resolve();
  }

  /** Runs one test now; resolves with its result. */
  async run(): Promise<boolean> {
    const { log, clock, state } = this.deps;
    const at = clock.now();
    const to = this.numbers[0];
    let ok = false;
    const counter = state.take(at.getTime());
    if (to === undefined || counter === null) {
      log.warn({ reason: to === undefined ? "no centre number" : "SMS budget spent" }, "SMS path test not run");
    } else {
      const alertId = randomUUID();
      const text = encodeSmsAlert({ kind: "test", kioskId: this.deps.kioskId, alertId, pressedAt: at.toISOString(), counter }, this.deps.key);
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.config.ackTimeoutMs);
        this.waiting = { alertId, resolve: () => (clearTimeout(timer), resolve(!this.stopped)) };
      });
      try {
        await sendSmsWithRetry(this.deps.modem, to, text, { attempts: 3, backoff: { minMs: 5_000, maxMs: 30_000, factor: 2, jitter: 0.2 }, stillWanted: () => !this.stopped }, log);
        ok = await acked;
      } catch {
        this.waiting?.resolve();
        ok = false;
      }
      this.waiting = undefined;
      log[ok ? "info" : "warn"]({ alertId, to, ok }, ok ? "SMS path test passed" : "SMS path test failed: the backup path is broken");
    }
    const next = this.nextAfter(clock.now().getTime());
    state.recordTest(at, ok, new Date(next));
    this.deps.onResult(ok);
    if (!this.stopped) this.arm(next);
    return ok;
  }

  private nextAfter(nowMs: number): number {
    return nowMs + this.config.everyH * HOUR_MS + Math.floor(this.deps.random() * this.config.jitterH * HOUR_MS);
  }

  private arm(atMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const delay = Math.max(0, atMs - this.deps.clock.now().getTime());
    this.timer = setTimeout(() => {
      if (this.deps.clock.now().getTime() < atMs) return this.arm(atMs); // a wait longer than one timer
      const busy = this.deps.busy();
      if (busy !== null) {
        this.deps.log.info({ reason: busy }, "SMS path test postponed");
        return this.arm(this.deps.clock.now().getTime() + HOUR_MS);
      }
      void this.run();
    }, Math.min(delay, MAX_SLEEP_MS));
  }
}

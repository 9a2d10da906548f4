/**
 * The second path's policy (docs/fallback.md). An SOS alert still unacknowledged `afterMs` after it
 * was recorded, while the IP link is down, goes out as one SMS alert (shared/sms-alert.ts) to the
 * centre's numbers in order, each tried with backoff, never more than `smsPerHour` SMS in any hour;
 * after the first SMS that goes out the kiosk says "alarm sent" and rings the centre's voice number.
 * An SMS sent but not acknowledged within `smsAckTimeoutMs` is followed by one to the next number.
 *
 * The IP path is untouched: the alert stays in the outbox and is delivered when the link is back
 * (the gateway finds the same alertId and answers it as a duplicate). The first acknowledgement on
 * either path settles the alarm: an SMS ack makes it "received" (lights, prompt) as an IP ack does.
 * Test alarms never go by SMS here (the scheduled SMS-path test is sms-test.ts).
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { FallbackConfig } from "../../shared/config/kiosk.js";
import type { Alert } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { IncomingSms, Modem } from "../../shared/modem/modem.js";
import { sendSmsWithRetry } from "../../shared/modem/send-retry.js";
import { decodeSmsAck, encodeSmsAlert } from "../../shared/sms-alert.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import type { Outbox } from "../link/outbox.js";
import type { SmsState } from "./sms-state.js";

export interface FallbackDeps {
  readonly kioskId: string;
  readonly modem: Modem;
  readonly outbox: Outbox;
  readonly bus: EventBus<KioskEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly state: SmsState;
  readonly key: Buffer;
  readonly player: PromptPlayer;
}

interface Watch {
  readonly alert: Alert;
  /** When the alert was recorded (or found in the outbox at start), by the injected clock. */
  readonly since: number;
  timer: NodeJS.Timeout | undefined;
  /** SMS rounds sent so far: each starts one number further down the list. */
  rounds: number;
  sending: boolean;
  settled: boolean;
}

export class FallbackPolicy {
  private readonly watches = new Map<string, Watch>();
  private linkUp = false;
  private stopped = false;
  private call: { alertId: string; timer: NodeJS.Timeout } | undefined;
  private readonly off: (() => void)[] = [];
  private readonly onSms = (sms: IncomingSms): void => this.smsIn(sms);
  private readonly onCallEnded = (e: { reason: string }): void => this.callEnded(e.reason);

  constructor(
    private readonly config: FallbackConfig,
    private readonly deps: FallbackDeps,
  ) {}

  /** Watches the SOS alerts left in the outbox and every new one. */
  start(pending: readonly Alert[]): void {
    const { bus, modem } = this.deps;
    this.off.push(
      bus.on("link.up", "fallback", () => (this.linkUp = true)),
      bus.on("link.down", "fallback", () => {
        this.linkUp = false;
        // A link found dead late (a silent loss, noticed at the keepalive): alerts already past
        // afterMs go at once instead of waiting for their next look.
        const now = this.deps.clock.now().getTime();
        for (const w of this.watches.values()) if (!w.sending && now - w.since >= this.config.afterMs) this.arm(w, 0);
      }),
      bus.on("alert.recorded", "fallback", ({ alert }) => this.watch(alert)),
      bus.on("alert.acked", "fallback", ({ alertId }) => this.settle(alertId, "ip")),
      bus.on("alarm.closed", "fallback", ({ alertId }) => {
        this.settle(alertId, "closed");
        if (this.call?.alertId === alertId) void this.hangUp("alarm closed");
      }),
    );
    modem.on("sms", this.onSms);
    modem.on("call-ended", this.onCallEnded);
    for (const alert of pending) this.watch(alert);
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.off.splice(0)) off();
    this.deps.modem.off("sms", this.onSms);
    this.deps.modem.off("call-ended", this.onCallEnded);
    for (const w of this.watches.values()) clearTimeout(w.timer);
    this.watches.clear();
    if (this.call !== undefined) clearTimeout(this.call.timer);
  }

  /** Alerts waiting for the second path (tests, diagnostics). */
  get watching(): readonly string[] {
    return [...this.watches.keys()];
  }

  private watch(alert: Alert): void {
    if (alert.kind !== "sos" || this.watches.has(alert.alertId) || this.stopped) return;
    const w: Watch = { alert, since: this.deps.clock.now().getTime(), timer: undefined, rounds: 0, sending: false, settled: false };
    this.watches.set(alert.alertId, w);
    this.arm(w, this.config.afterMs);
  }

  private arm(w: Watch, delayMs: number): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => this.check(w), delayMs);
  }

  private check(w: Watch): void {
    if (w.settled || this.stopped) return;
    if (this.deps.outbox.get(w.alert.alertId) === undefined) return this.settle(w.alert.alertId, "ip");
    // The IP link is up: its own resends deliver the alert; look again later.
    if (this.linkUp) return this.arm(w, this.config.afterMs);
    void this.sendRound(w);
  }

  /** One SMS round: the numbers in order from this round's first, until one takes the SMS. */
  private async sendRound(w: Watch): Promise<void> {
    if (w.sending) return;
    w.sending = true;
    const { alertId } = w.alert;
    const log = this.deps.log.child({ alertId });
    try {
      const numbers = this.config.smsNumbers;
      for (let i = 0; i < numbers.length && !w.settled && !this.stopped; i += 1) {
        const to = numbers[(w.rounds + i) % numbers.length] ?? "";
        const counter = this.deps.state.take(this.deps.clock.now().getTime());
        if (counter === null) {
          log.warn({ smsPerHour: this.config.smsPerHour }, "SMS budget for this hour spent: the alarm waits for the IP link or the next hour");
          break;
        }
        const text = encodeSmsAlert({ kind: "sos", kioskId: this.deps.kioskId, alertId, pressedAt: w.alert.pressedAt, counter }, this.deps.key);
        try {
          await sendSmsWithRetry(this.deps.modem, to, text, { attempts: this.config.smsAttempts, backoff: this.config.smsRetry, stillWanted: () => !w.settled && !this.stopped }, log);
        } catch {
          continue; // the next number
        }
        w.rounds += i + 1;
        log.warn({ to, counter, ipLink: "down" }, "alarm sent by SMS: the IP link could not deliver it");
        this.deps.bus.emit("fallback.sms-sent", { alertId, to, counter });
        this.deps.player.play("alarm-sent");
        await this.placeCall(alertId);
        if (!w.settled) this.arm(w, this.config.smsAckTimeoutMs);
        return;
      }
      if (!w.settled && !this.stopped) {
        log.warn({ numbers: numbers.length }, "no SMS could be sent: trying again later");
        this.arm(w, this.config.afterMs);
      }
    } finally {
      w.sending = false;
    }
  }

  /** Rings the centre once per alarm so an operator can talk to the person. */
  private async placeCall(alertId: string): Promise<void> {
    const to = this.config.voiceNumber;
    if (to === undefined || this.call !== undefined) return;
    try {
      await this.deps.modem.dial(to);
    } catch (err) {
      this.deps.log.warn({ alertId, to, reason: (err as Error).message }, "voice call to the centre failed");
      return;
    }
    const timer = setTimeout(() => void this.hangUp("call time limit"), this.config.callMaxMs);
    this.call = { alertId, timer };
    this.deps.bus.emit("fallback.call-placed", { alertId, to });
  }

  private async hangUp(reason: string): Promise<void> {
    const call = this.call;
    if (call === undefined) return;
    try {
      await this.deps.modem.hangUp();
    } catch (err) {
      this.deps.log.warn({ reason: (err as Error).message }, "hang-up failed");
    }
    this.callEnded(reason);
  }

  private callEnded(reason: string): void {
    const call = this.call;
    if (call === undefined) return;
    this.call = undefined;
    clearTimeout(call.timer);
    this.deps.log.info({ alertId: call.alertId, reason }, "voice call over");
    this.deps.bus.emit("fallback.call-ended", { alertId: call.alertId, reason });
  }

  private smsIn(sms: IncomingSms): void {
    const ack = decodeSmsAck(sms.text, this.deps.key);
    if (!ack.ok) {
      if (sms.text.startsWith("SOSACK")) this.deps.log.warn({ from: sms.from, code: ack.code, reason: ack.reason }, "SMS acknowledgement refused");
      return;
    }
    const { alertId } = ack.value;
    const w = this.watches.get(alertId);
    if (w === undefined && this.deps.outbox.get(alertId)?.alert.kind !== "sos") return; // a test's ack, or a late one
    if (w !== undefined) {
      if (w.settled) return;
      this.settle(alertId, "sms");
    }
    this.deps.log.info({ alertId, from: sms.from }, "alarm acknowledged by SMS");
    this.deps.bus.emit("fallback.acked", { alertId, from: sms.from });
  }

  private settle(alertId: string, by: "ip" | "sms" | "closed"): void {
    const w = this.watches.get(alertId);
    if (w === undefined) return;
    w.settled = true;
    clearTimeout(w.timer);
    this.watches.delete(alertId);
    this.deps.log.debug({ alertId, by }, "second path settled");
  }
}

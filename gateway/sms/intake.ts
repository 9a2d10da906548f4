/**
 * SMS alerts into the alert pipeline (docs/fallback.md). Each text claiming to be an alert (SOS1 …)
 * is checked against its kiosk's SMS key and counter (shared/sms-alert.ts); a forged, replayed,
 * unknown-kiosk or malformed one is refused with a logged reason and nothing is stored. An accepted
 * one becomes the same Alert an MQTT copy would be (the kiosk's registered place), goes through the
 * pipeline (dedupe by alertId, store, dispatch, console) marked "sms", and is acknowledged by SMS to
 * the number it came from (SOSACK1, under the same key).
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { Ack, Alert } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import { decodeSmsAlert, encodeSmsAck, looksLikeSmsAlert, parseSmsKey, SmsRefusal } from "../../shared/sms-alert.js";
import type { AlertPipeline } from "../alerts/pipeline.js";
import type { GatewayEvents } from "../events.js";
import type { GatewayStore } from "../store/store.js";

export interface InboundSms {
  /** The sender's number. */
  readonly from: string;
  readonly text: string;
  /** Which receiver it came through ("modem", "hook"). */
  readonly via: string;
}

/** Sends one SMS back (the acknowledgement); rejects when it could not. */
export type SmsReply = (to: string, text: string) => Promise<void>;

export type IntakeResult = { readonly outcome: "accepted"; readonly alertId: string } | { readonly outcome: "refused"; readonly code: string; readonly reason: string } | { readonly outcome: "ignored" };

export class SmsIntake {
  constructor(
    private readonly deps: { store: GatewayStore; pipeline: AlertPipeline; bus: EventBus<GatewayEvents>; clock: Clock; log: Logger },
  ) {}

  async handle(sms: InboundSms, reply: SmsReply): Promise<IntakeResult> {
    const { store, log } = this.deps;
    if (!looksLikeSmsAlert(sms.text)) {
      log.info({ from: sms.from, via: sms.via, chars: sms.text.length }, "SMS that is not an alert ignored");
      return { outcome: "ignored" };
    }
    const kioskId = sms.text.trim().split(" ")[2] ?? "";
    const record = kioskId === "" ? undefined : await store.sms.getKey(kioskId);
    const key = record === undefined ? undefined : parseSmsKey(record.key);
    const decoded = decodeSmsAlert(sms.text, (id) => (key === undefined || record === undefined || id !== record.kioskId ? undefined : { key, lastCounter: record.lastCounter }));
    if (!decoded.ok) return this.refuse(sms, record === undefined ? null : kioskId, decoded.code, decoded.reason);
    const s = decoded.value;
    // Two copies racing: only one takes the counter.
    if (!(await store.sms.advanceCounter(s.kioskId, s.counter))) return this.refuse(sms, s.kioskId, SmsRefusal.Replayed, `counter ${s.counter} was taken meanwhile`);
    const kiosk = await store.getKiosk(s.kioskId);
    if (kiosk === undefined || key === undefined) return this.refuse(sms, s.kioskId, SmsRefusal.UnknownKiosk, `kiosk ${s.kioskId} is not registered`);
    const alert: Alert = {
      v: 1,
      alertId: s.alertId,
      kioskId: s.kioskId,
      kind: s.kind,
      pressedAt: s.pressedAt,
      location: kiosk.location,
      trigger: s.kind === "test" ? "scheduled-test" : "button",
      pressCount: 1,
    };
    await store.sms.recordArrival({ alertId: s.alertId, kioskId: s.kioskId, sender: sms.from, counter: s.counter, receivedAt: this.deps.clock.now().toISOString() });
    log.warn({ kioskId: s.kioskId, alertId: s.alertId, kind: s.kind, from: sms.from, via: sms.via, counter: s.counter }, "alert received by SMS: the kiosk's IP link could not deliver it");
    const answer = async (ack: Ack): Promise<void> => {
      if (ack.status !== "ok") return; // the kiosk sends again (over SMS or IP)
      await reply(sms.from, encodeSmsAck(ack.alertId, key));
      log.info({ kioskId: s.kioskId, alertId: ack.alertId, to: sms.from, duplicate: ack.data.duplicate }, "SMS acknowledgement sent");
    };
    await this.deps.pipeline.handleAlert(s.kioskId, alert, "sms", { topic: `sms:${sms.via}`, payload: Buffer.from(sms.text, "latin1") }, answer);
    return { outcome: "accepted", alertId: s.alertId };
  }

  private refuse(sms: InboundSms, kioskId: string | null, code: string, reason: string): IntakeResult {
    // The text is untrusted: its first characters under their own key, never merged.
    this.deps.log.warn({ kioskId, from: sms.from, via: sms.via, code, reason, sms: sms.text.slice(0, 160) }, "SMS alert refused");
    this.deps.bus.emit("sms.refused", { kioskId, code, reason, sender: sms.from });
    return { outcome: "refused", code, reason };
  }
}

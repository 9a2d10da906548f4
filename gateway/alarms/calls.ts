/**
 * The calls kiosks report on their `call/up` topic, as the gateway sees them: which alarm a ring
 * named, whose accept the kiosk took (`connecting`), and whether the call is live (connected and not
 * yet ended, failed or hung up). The alarm lifecycle stores the first `connected` of a call; the
 * close route asks who is in a call on an alarm, so another operator cannot end it unawares.
 * The call's media does not go through MQTT: a kiosk's MQTT drop leaves its call live; when the
 * kiosk connects again its calls wait for it to say `connected` again (it does so for a live call),
 * so a call that died with a restarted kiosk does not stay live.
 */
import { callUpSchema } from "../../shared/call.js";

/** Calls remembered (the oldest is forgotten first). */
const MAX_CALLS = 1_000;

/** One kiosk call: the alarm its ring named, whose accept the kiosk took, whether it is connected and live. */
export interface CallEntry {
  readonly kioskId: string;
  readonly callId: string;
  readonly alertId: string;
  operator: string | null;
  connected: boolean;
  live: boolean;
}

export class KioskCalls {
  private readonly calls = new Map<string, CallEntry>();

  /** @param connected called once per call, at its first `connected` (`stated`: the operator the message names). */
  constructor(private readonly connected: (call: CallEntry, stated: string | undefined) => void) {}

  /** A kiosk's `call/up` message; malformed ones are ignored (the page and the call code validate too). */
  up(kioskId: string, payload: Buffer): void {
    let message;
    try {
      message = callUpSchema.safeParse(JSON.parse(payload.toString("utf8")));
    } catch {
      return;
    }
    if (!message.success) return;
    const m = message.data;
    const key = `${kioskId}/${m.callId}`;
    let call = this.calls.get(key);
    // A live call repeated after the kiosk's link came back, which this gateway never heard ring (it
    // restarted meanwhile): known from now on, without a lifecycle step (its call step, if any, is stored).
    if (call === undefined && m.type === "state" && m.state === "connected" && m.alertId !== undefined) {
      call = { kioskId, callId: m.callId, alertId: m.alertId, operator: m.operator ?? null, connected: true, live: true };
      this.remember(key, call);
      return;
    }
    if (m.type === "ring") {
      if (call !== undefined) return;
      this.remember(key, { kioskId, callId: m.callId, alertId: m.alertId, operator: null, connected: false, live: false });
    } else if (call === undefined) {
      return;
    } else if (m.type === "hangup" || (m.type === "state" && (m.state === "ended" || m.state === "failed"))) {
      call.live = false;
    } else if (m.type === "state" && m.state === "connecting") {
      if (!call.connected) call.operator = m.operator ?? null;
    } else if (m.type === "state" && m.state === "connected") {
      call.live = true;
      if (call.connected) return;
      call.connected = true;
      this.connected(call, m.operator);
    }
  }

  private remember(key: string, call: CallEntry): void {
    if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value ?? "");
    this.calls.set(key, call);
  }

  /** The kiosk (re)connected: its calls are live again only once it says so (a live call's `connected` is repeated). */
  kioskBack(kioskId: string): void {
    for (const call of this.calls.values()) if (call.kioskId === kioskId) call.live = false;
  }

  /** The operator in a live call on this alarm (null when the kiosk did not say whose accept it took), or undefined. */
  inCall(alertId: string): { operator: string | null } | undefined {
    for (const call of this.calls.values()) if (call.alertId === alertId && call.live) return { operator: call.operator };
    return undefined;
  }
}

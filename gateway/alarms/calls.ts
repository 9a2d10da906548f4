/**
 * The calls kiosks report on their `call/up` topic, as the gateway sees them: which alarm a ring
 * named, whose accept the kiosk took (`connecting`), and whether the call is live (connected and not
 * yet ended, failed or hung up). The alarm lifecycle stores the first `connected` of a call; the
 * close route asks who is in a call on an alarm, so another operator cannot end it unawares.
 *
 * Who answered comes from the operators' side: the gateway sees each page's `accept` on the kiosk's
 * `call/down` with the page's authenticated operator name; the kiosk's `connecting` only says which
 * of those accepts it took (its page id). The name a kiosk states is used only when the gateway saw
 * no accept (it restarted during the call), and only for the close guard, never for the audit trail.
 * A call counts only for the alarms of the kiosk that made it.
 *
 * The call's media does not go through MQTT: a kiosk's MQTT drop leaves its call live; when the
 * kiosk connects again its calls wait for it to say `connected` again (it does so for a live call),
 * so a call that died with a restarted kiosk does not stay live.
 */
import { type CallDown, callUpSchema } from "../../shared/call.js";

/** Calls remembered (the oldest is forgotten first). */
const MAX_CALLS = 1_000;
/** Accepts remembered per call (pages of operators who pressed Accept on it). */
const MAX_ACCEPTS = 32;

/** One kiosk call: the alarm its ring named, whose accept the kiosk took, whether it is connected and live. */
export interface CallEntry {
  readonly kioskId: string;
  readonly callId: string;
  readonly alertId: string;
  /** The accepts the gateway saw, page id ("" when the page sent none) → the operator's authenticated name. */
  readonly accepts: Map<string, string>;
  /** The operator whose accept the kiosk took, from `accepts`; null when none matches. */
  operator: string | null;
  /** The operator the kiosk named (its word: only for the close guard when no accept was seen). */
  stated: string | null;
  connected: boolean;
  live: boolean;
}

export class KioskCalls {
  private readonly calls = new Map<string, CallEntry>();

  /** @param connected called once per call, at its first `connected`. */
  constructor(private readonly connected: (call: CallEntry) => void) {}

  /** A kiosk's `call/up` message; malformed ones are ignored (the broker's call guard counts them). */
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
      call = { kioskId, callId: m.callId, alertId: m.alertId, accepts: new Map(), operator: null, stated: m.operator ?? null, connected: true, live: true };
      this.remember(key, call);
      return;
    }
    if (m.type === "ring") {
      if (call !== undefined) return;
      this.remember(key, { kioskId, callId: m.callId, alertId: m.alertId, accepts: new Map(), operator: null, stated: null, connected: false, live: false });
    } else if (call === undefined) {
      return;
    } else if (m.type === "hangup" || (m.type === "state" && (m.state === "ended" || m.state === "failed"))) {
      call.live = false;
    } else if (m.type === "state" && m.state === "connecting") {
      if (call.connected) return;
      call.stated = m.operator ?? null;
      call.operator = acceptTaken(call, m.pageId, m.operator);
    } else if (m.type === "state" && m.state === "connected") {
      call.live = true;
      if (call.connected) return;
      call.connected = true;
      this.connected(call);
    }
  }

  /** An operator page's `call/down` message (parsed), `operator` its authenticated name: an accept is remembered. */
  down(operator: string, kioskId: string, message: CallDown): void {
    if (message.type !== "accept") return;
    const call = this.calls.get(`${kioskId}/${message.callId}`);
    if (call === undefined || call.connected) return;
    const page = message.pageId ?? "";
    if (!call.accepts.has(page) && call.accepts.size < MAX_ACCEPTS) call.accepts.set(page, operator);
  }

  private remember(key: string, call: CallEntry): void {
    if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value ?? "");
    this.calls.set(key, call);
  }

  /** The kiosk (re)connected: its calls are live again only once it says so (a live call's `connected` is repeated). */
  kioskBack(kioskId: string): void {
    for (const call of this.calls.values()) if (call.kioskId === kioskId) call.live = false;
  }

  /**
   * The operator in a live call on this alarm of kiosk `kioskId` (null when unknown), or undefined.
   * Calls of other kiosks naming this alarm do not count.
   */
  inCall(alertId: string, kioskId: string): { operator: string | null } | undefined {
    for (const call of this.calls.values()) {
      if (call.alertId === alertId && call.kioskId === kioskId && call.live) return { operator: call.operator ?? (call.accepts.size === 0 ? call.stated : null) };
    }
    return undefined;
  }
}

/** Whose accept the kiosk took: the page it names, else the operator it names if that operator accepted. */
function acceptTaken(call: CallEntry, pageId: string | undefined, stated: string | undefined): string | null {
  const byPage = call.accepts.get(pageId ?? "");
  if (byPage !== undefined) return byPage;
  return stated !== undefined && [...call.accepts.values()].includes(stated) ? stated : null;
}

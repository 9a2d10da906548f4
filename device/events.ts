import type { Alert } from "../shared/contract.js";

/** What the kiosk agent's features tell each other (and the demo, and tests). */
export interface KioskEvents {
  "alert.recorded": { alert: Alert; durable: boolean; recordMs: number };
  "alert.published": { alertId: string; attempt: number };
  "alert.acked": { alertId: string; receivedAt: string; duplicate: boolean; latencyMs: number };
  /** The gateway refused an alert (a NAK): it stays in the outbox and is retried. */
  "alert.refused": { alertId: string; code: string; reason: string };
  /** A new alarm (the yellow light goes on). */
  "alarm.raised": { alert: Alert };
  /** A press while the alarm was open, counted on it. */
  "alarm.press-counted": { alertId: string; pressCount: number };
  /** The gateway acknowledged the open alarm for the first time. */
  "alarm.received": { alertId: string };
  /** The centre closed the alarm (the yellow light goes off). */
  "alarm.closed": { alertId: string; outcome: string };
  /** Voice/video with an operator flows both ways (the green light goes on). */
  "call.connected": { alertId: string; callId?: string };
  /** A call the kiosk took (accepted) is over, whether it connected or not (the green light goes off). */
  "call.ended": { alertId: string; callId?: string; reason?: string };
  /** The set of reasons this kiosk cannot raise an alarm now (empty = healthy). */
  "fault.changed": { faults: readonly string[] };
  /** A part found not working (or working again) that does not stop an alarm: reported in the heartbeat's faults. */
  "part.degraded": { fault: string; on: boolean };
  /** The second path (docs/fallback.md): an SMS alert went out to a centre number. */
  "fallback.sms-sent": { alertId: string; to: string; counter: number };
  /** The centre acknowledged an alert by SMS (the alarm is "received", as by an IP ack). */
  "fallback.acked": { alertId: string; from: string };
  /** A voice call to the centre was placed over the modem / ended. */
  "fallback.call-placed": { alertId: string; to: string };
  "fallback.call-ended": { alertId: string; reason: string };
  "link.up": Record<string, never>;
  /** A heartbeat was handed to a connected link (the update's health gate waits for one). */
  "heartbeat.sent": { seq: number };
  "link.down": { reason: string };
}

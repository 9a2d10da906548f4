import type { Alert } from "../shared/contract.js";

/** What the kiosk agent's features tell each other (and the demo, and tests). */
export interface KioskEvents {
  "alert.recorded": { alert: Alert; durable: boolean; recordMs: number };
  "alert.published": { alertId: string; attempt: number };
  "alert.acked": { alertId: string; receivedAt: string; duplicate: boolean; latencyMs: number };
  /** A new alarm (the yellow light goes on). */
  "alarm.raised": { alert: Alert };
  /** A press while the alarm was open, counted on it. */
  "alarm.press-counted": { alertId: string; pressCount: number };
  /** The gateway acknowledged the open alarm for the first time. */
  "alarm.received": { alertId: string };
  /** The centre closed the alarm (the yellow light goes off). */
  "alarm.closed": { alertId: string; outcome: string };
  /** Reserved for the call feature: voice/video connected or ended. */
  "call.connected": { alertId: string };
  "call.ended": { alertId: string };
  /** The set of reasons this kiosk cannot raise an alarm now (empty = healthy). */
  "fault.changed": { faults: readonly string[] };
  "link.up": Record<string, never>;
  "link.down": { reason: string };
}

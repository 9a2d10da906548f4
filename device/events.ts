import type { Alert } from "../shared/contract.js";

/** What the kiosk agent's features tell each other (and the demo, and tests). */
export interface KioskEvents {
  "alert.recorded": { alert: Alert; durable: boolean; recordMs: number };
  "alert.published": { alertId: string; attempt: number };
  "alert.acked": { alertId: string; receivedAt: string; duplicate: boolean; latencyMs: number };
  "link.up": Record<string, never>;
  "link.down": { reason: string };
}

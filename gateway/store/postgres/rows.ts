/** PostgreSQL's side of reading rows: the alert query (the rows and records are shared: ../rows.ts). */
import type { Q } from "./client.js";

export { type AlertDbRow, type KioskDbRow, toAlertRow, toKiosk } from "../rows.js";

/** The alert with its dispatch state, as a fragment to continue with WHERE/ORDER BY. */
export const alertSelect = (q: Q) => q`SELECT a.alert_id, a.kiosk_id, a.kind, a.pressed_at, a.received_at,
  a.press_count, a.closed_at, a.outcome, a.closed_by,
  d.delivered_at, d.attempts, d.next_attempt_at, d.last_error
  FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id`;

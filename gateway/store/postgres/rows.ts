/** Rows as PostgreSQL returns them (the same columns as SQLite's) and their records. */
import type { AlertRow, KioskRecord } from "../store.js";
import type { Q } from "./client.js";

export interface KioskDbRow {
  kiosk_id: string;
  secret_hash: string;
  name: string | null;
  lat: number;
  lon: number;
  address: string;
  created_at: string;
  updated_at: string;
  region: string | null;
}

export interface AlertDbRow {
  alert_id: string;
  kiosk_id: string;
  kind: "sos" | "test";
  pressed_at: string;
  received_at: string;
  delivered_at: string | null;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  press_count: number;
  closed_at: string | null;
  outcome: string | null;
  closed_by: string | null;
}

export function toKiosk(row: KioskDbRow): KioskRecord {
  return {
    kioskId: row.kiosk_id,
    secretHash: row.secret_hash,
    name: row.name,
    location: { lat: row.lat, lon: row.lon, address: row.address },
    ...(row.region == null ? {} : { region: row.region }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toAlertRow(row: AlertDbRow): AlertRow {
  return {
    alertId: row.alert_id,
    kioskId: row.kiosk_id,
    kind: row.kind,
    pressedAt: row.pressed_at,
    receivedAt: row.received_at,
    delivery: row.delivered_at === null ? "pending" : "delivered",
    attempts: row.attempts,
    deliveredAt: row.delivered_at,
    nextAttemptAt: row.delivered_at === null && row.next_attempt_at !== null ? new Date(row.next_attempt_at).toISOString() : null,
    lastError: row.last_error,
    pressCount: row.press_count,
    closedAt: row.closed_at,
    outcome: row.outcome,
    closedBy: row.closed_by,
  };
}

/** The alert with its dispatch state, as a fragment to continue with WHERE/ORDER BY. */
export const alertSelect = (q: Q) => q`SELECT a.alert_id, a.kiosk_id, a.kind, a.pressed_at, a.received_at,
  a.press_count, a.closed_at, a.outcome, a.closed_by,
  d.delivered_at, d.attempts, d.next_attempt_at, d.last_error
  FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id`;

/**
 * Rows as both backends return them (the same tables and columns: migrations.ts) and the records they
 * make, so that SQLite and PostgreSQL read a row the same way.
 */
import type { ReleaseRecord, RolloutRecord, RolloutState } from "./release-store.js";
import type { CertificateRecord } from "./security-store.js";
import type { SessionRecord } from "./session-store.js";
import type { AlertRow, KioskRecord, OperatorRole } from "./store.js";

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

export interface RolloutDbRow {
  version: string;
  target: string;
  release_url: string;
  waves: string;
  wave: number;
  offered_wave: number;
  state: RolloutState;
  reason: string | null;
  created_at: string;
  updated_at: string;
  wave_deadline_ms: number;
  wave_offered_at: string | null;
  no_answer: string;
}

export const toRollout = (r: RolloutDbRow): RolloutRecord => ({
  version: r.version,
  target: r.target,
  releaseUrl: r.release_url,
  waves: JSON.parse(r.waves) as string[][],
  wave: r.wave,
  offeredWave: r.offered_wave,
  state: r.state,
  reason: r.reason,
  waveDeadlineMs: Number(r.wave_deadline_ms),
  waveOfferedAt: r.wave_offered_at,
  noAnswer: JSON.parse(r.no_answer) as string[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface ReleaseDbRow {
  version: string;
  file: string;
  sha256: string;
  size: number;
  manifest: string;
  published_at: string;
}

export const toRelease = (r: ReleaseDbRow): ReleaseRecord => ({
  version: r.version,
  file: r.file,
  sha256: r.sha256,
  size: Number(r.size),
  manifest: r.manifest,
  publishedAt: r.published_at,
});

export interface CertDbRow {
  serial: string;
  kiosk_id: string;
  fingerprint: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  revoked_at: string | null;
}

export const toCert = (r: CertDbRow): CertificateRecord => ({
  serial: r.serial,
  kioskId: r.kiosk_id,
  fingerprint: r.fingerprint,
  notBefore: r.not_before,
  notAfter: r.not_after,
  issuedAt: r.issued_at,
  revokedAt: r.revoked_at,
});

export interface SessionDbRow {
  id_hash: string;
  token_hash: string;
  operator: string;
  role: OperatorRole;
  client_id: string;
  created_at: string;
  expires_at: number;
}

export const toSession = (r: SessionDbRow): SessionRecord => ({
  idHash: r.id_hash,
  tokenHash: r.token_hash,
  operator: r.operator,
  role: r.role,
  clientId: r.client_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

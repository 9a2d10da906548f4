/**
 * PostgreSQL store: the same GatewayStore as SQLite, on a database server that may be replicated. An
 * alert is stored and queued for dispatch in one transaction, and recordAlert resolves only once that
 * transaction has committed: the pipeline acknowledges the kiosk after it, never before. While the
 * database cannot be reached every call rejects with SosError STORE_UNAVAILABLE (client.ts). Outbox
 * work is claimed with SELECT … FOR UPDATE SKIP LOCKED and a lease (claimed_by, claim_until), so two
 * gateways on one database never send the same job at the same time.
 */
import type { Logger } from "pino";
import type { Alert } from "../../../shared/contract.js";
import type { AlarmStore } from "../alarm-store.js";
import type { HealthStore } from "../health-store.js";
import type { SecurityStore } from "../security-store.js";
import type { SessionRecordStore } from "../session-store.js";
import type {
  AlertRow,
  AttemptRecord,
  Claim,
  ClaimHolder,
  CloseAlertResult,
  DeliveryState,
  DispatchJob,
  GatewayStore,
  KioskRecord,
  OperatorRecord,
  OperatorRole,
  PendingCommand,
  RecordAlertResult,
  RejectedMessage,
} from "../store.js";
import type { DispatchUpdateStore } from "../dispatch-update-store.js";
import type { ReleaseStore } from "../release-store.js";
import type { LeaseStore } from "../lease-store.js";
import { PgLeaseStore } from "./leases.js";
import type { SmsStore } from "../sms-store.js";
import { PgAlarmStore } from "./alarms.js";
import { PgDispatchUpdates, PgSmsStore } from "./extras.js";
import { PgReleaseStore } from "./releases.js";
import { connect, PgClient, type PgStatus } from "./client.js";
import { PgHealthStore } from "./health.js";
import { alertSelect, toAlertRow, toKiosk, type AlertDbRow, type KioskDbRow } from "./rows.js";
import { migrateSchema } from "./schema.js";
import { PgSecurityStore } from "./security.js";
import { PgSessionStore } from "./sessions.js";

/** Rejected messages kept per kiosk, as on SQLite. */
export const REJECTED_PER_KIOSK = 200;

export interface PostgresOpenOptions {
  readonly log?: Logger;
  /** Create or upgrade the schema (under the migration lock) before returning; default true. */
  readonly migrate?: boolean;
  /** Connections in the pool (default 10). */
  readonly max?: number;
}

export class PostgresStore implements GatewayStore {
  readonly health: HealthStore;
  readonly alarms: AlarmStore;
  readonly security: SecurityStore;
  readonly sessions: SessionRecordStore;
  readonly dispatchUpdates: DispatchUpdateStore;
  readonly sms: SmsStore;
  readonly releases: ReleaseStore;
  readonly leases: LeaseStore;

  private constructor(private readonly db: PgClient) {
    this.dispatchUpdates = new PgDispatchUpdates(db);
    this.sms = new PgSmsStore(db);
    this.releases = new PgReleaseStore(db);
    this.leases = new PgLeaseStore(db);
    this.health = new PgHealthStore(db);
    this.alarms = new PgAlarmStore(db);
    this.security = new PgSecurityStore(db);
    this.sessions = new PgSessionStore(db);
  }

  /**
   * Opens a pool on `url` (libpq form; several hosts with target_session_attrs=read-write pick the
   * primary) and, unless `migrate: false`, creates or upgrades the schema. Rejects with
   * STORE_UNAVAILABLE when the database cannot be reached; the pool is closed then.
   */
  static async open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresStore> {
    const client = new PgClient(connect(url, options.max === undefined ? {} : { max: options.max }), url);
    try {
      if (options.migrate !== false) await migrateSchema(client, options.log);
      else await client.run((q) => q`SELECT 1`);
    } catch (err) {
      await client.sql.end({ timeout: 1 }).catch(() => undefined);
      throw err;
    }
    return new PostgresStore(client);
  }

  /** Whether this store's last call reached the database (the gateway's own watch is store/availability.ts). */
  status(): PgStatus {
    return this.db.status();
  }

  async getKiosk(kioskId: string): Promise<KioskRecord | undefined> {
    const [row] = await this.db.run((q) => q<KioskDbRow[]>`SELECT * FROM kiosks WHERE kiosk_id = ${kioskId}`);
    return row === undefined ? undefined : toKiosk(row);
  }

  async getKiosks(kioskIds: readonly string[]): Promise<KioskRecord[]> {
    if (kioskIds.length === 0) return [];
    return (await this.db.run((q) => q<KioskDbRow[]>`SELECT * FROM kiosks WHERE kiosk_id = ANY(${[...new Set(kioskIds)]}::text[])`)).map(toKiosk);
  }

  async putKiosk(kiosk: Omit<KioskRecord, "createdAt" | "updatedAt">, options: { replace: boolean; now: Date }): Promise<boolean> {
    const now = options.now.toISOString();
    const { kioskId, secretHash, name, location } = kiosk;
    const region = kiosk.region ?? null;
    if (!options.replace) {
      const result = await this.db.run((q) => q`INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, region, created_at, updated_at)
            VALUES (${kioskId}, ${secretHash}, ${name}, ${location.lat}, ${location.lon}, ${location.address}, ${region}, ${now}, ${now})
            ON CONFLICT (kiosk_id) DO NOTHING`);
      return result.count > 0;
    }
    return this.db.tx(async (tx) => {
      const [before] = await tx<{ secret_hash: string }[]>`SELECT secret_hash FROM kiosks WHERE kiosk_id = ${kioskId} FOR UPDATE`;
      const result = await tx`INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, region, created_at, updated_at)
            VALUES (${kioskId}, ${secretHash}, ${name}, ${location.lat}, ${location.lon}, ${location.address}, ${region}, ${now}, ${now})
            ON CONFLICT (kiosk_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name, lat = excluded.lat,
              lon = excluded.lon, address = excluded.address, region = excluded.region, updated_at = excluded.updated_at`;
      // A new secret (re-provisioned with --force): the running gateways cut the old one's live session.
      if (before !== undefined && before.secret_hash !== secretHash) await tx`INSERT INTO revocations (kiosk_id, at) VALUES (${kioskId}, ${now})`;
      return result.count > 0;
    });
  }

  async listKiosks(): Promise<KioskRecord[]> {
    return (await this.db.run((q) => q<KioskDbRow[]>`SELECT * FROM kiosks ORDER BY kiosk_id`)).map(toKiosk);
  }

  async recordAlert(alert: Alert, receivedAt: Date, dispatchBody: string, claim?: Claim): Promise<RecordAlertResult> {
    const pressCount = alert.pressCount ?? 1;
    const received = receivedAt.toISOString();
    // A test alarm opens nothing on the kiosk, so it is closed as it is stored (as on SQLite).
    const [closedAt, outcome, closedBy] = alert.kind === "test" ? [received, "test", "system"] : [null, null, null];
    for (let tries = 0; tries < 3; tries += 1) {
      // A new alert (the common case): the alert and its dispatch job in one statement, one round trip,
      // committed before it resolves. Of two copies arriving together one inserts; the other waits on
      // the row, inserts nothing, and is handled as a copy below.
      const [stored] = await this.db.run((q) => q<{ alert_id: string }[]>`
        WITH a AS (
          INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload, press_count, last_press_at, trigger, closed_at, outcome, closed_by)
          VALUES (${alert.alertId}, ${alert.kioskId}, ${alert.kind}, ${alert.pressedAt}, ${received}, ${JSON.stringify(alert)}, ${pressCount},
                  ${alert.lastPressAt ?? null}, ${alert.trigger ?? null}, ${closedAt}, ${outcome}, ${closedBy})
          ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id)
        INSERT INTO dispatch_outbox (alert_id, body, attempts, next_attempt_at, claimed_by, claim_until)
          SELECT alert_id, ${dispatchBody}, 0, ${receivedAt.getTime()}, ${claim?.owner ?? null}, ${claim === undefined ? null : claim.now.getTime() + claim.leaseMs} FROM a
        RETURNING alert_id`);
      if (stored !== undefined) {
        const job = claim === undefined ? {} : { job: { alertId: alert.alertId, body: dispatchBody, attempts: 0 } };
        return { outcome: "stored", receivedAt: received, pressCount, ...job };
      }
      const copy = await this.recordCopy(alert, pressCount);
      // undefined: the stored one was pruned meanwhile (an old test alarm): store this one afresh.
      if (copy !== undefined) return copy;
    }
    throw new Error(`alert ${alert.alertId} was neither stored nor found three times`);
  }

  /** A copy of a stored alert: a duplicate (its press count stored when higher), or a conflict with another kiosk's. */
  private recordCopy(alert: Alert, pressCount: number): Promise<RecordAlertResult | undefined> {
    return this.db.tx(async (tx): Promise<RecordAlertResult | undefined> => {
      const [existing] = await tx<{ kiosk_id: string; received_at: string; press_count: number }[]>`
        SELECT kiosk_id, received_at, press_count FROM alerts WHERE alert_id = ${alert.alertId} FOR NO KEY UPDATE`;
      if (existing === undefined) return undefined;
      if (existing.kiosk_id !== alert.kioskId) return { outcome: "conflict", ownerKioskId: existing.kiosk_id };
      if (pressCount <= existing.press_count) return { outcome: "duplicate", receivedAt: existing.received_at, pressCount: existing.press_count, updated: false };
      await tx`UPDATE alerts SET press_count = ${pressCount}, last_press_at = ${alert.lastPressAt ?? null} WHERE alert_id = ${alert.alertId}`;
      return { outcome: "duplicate", receivedAt: existing.received_at, pressCount, updated: true };
    });
  }

  async listAlerts(options: { limit?: number; open?: boolean } = {}): Promise<AlertRow[]> {
    // LIMIT NULL: no limit (every open alarm).
    const limit = options.limit ?? (options.open === true ? null : 1_000);
    const rows = await this.db.run((q) =>
      options.open === true
        ? q<AlertDbRow[]>`${alertSelect(q)} WHERE a.closed_at IS NULL ORDER BY a.received_at DESC, a.alert_id LIMIT ${limit}`
        : q<AlertDbRow[]>`${alertSelect(q)} ORDER BY a.received_at DESC, a.alert_id LIMIT ${limit}`,
    );
    return rows.map(toAlertRow);
  }

  async getAlert(alertId: string): Promise<AlertRow | undefined> {
    const [row] = await this.db.run((q) => q<AlertDbRow[]>`${alertSelect(q)} WHERE a.alert_id = ${alertId}`);
    return row === undefined ? undefined : toAlertRow(row);
  }

  async claimDispatches(dueBy: Date, limit: number, claim: Claim): Promise<DispatchJob[]> {
    const busy = [...(claim.busy ?? [])];
    const now = claim.now.getTime();
    // The order of sqlite/index.ts claimDispatches (SOS first; each kiosk's oldest, then each one's
    // second…). A window function cannot sit beside FOR UPDATE, so the turns are counted in `ranked`
    // and the rows locked in `c`, which checks the claim again: a row another node claimed after
    // `ranked` read it is re-read when its lock is taken, and then no longer matches.
    const rows = await this.db.light((q) => q<{ alert_id: string; body: string; attempts: number; test: boolean; turn: number; received_at: string; seq: number }[]>`
      WITH ranked AS (
        SELECT d.alert_id, a.kind = 'test' AS test, a.received_at, d.seq,
               row_number() OVER (PARTITION BY a.kiosk_id, a.kind = 'test' ORDER BY a.received_at, d.seq) AS turn
        FROM dispatch_outbox d JOIN alerts a ON a.alert_id = d.alert_id
        WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ${dueBy.getTime()}
          AND (d.claim_until IS NULL OR d.claim_until <= ${now} OR d.claimed_by = ${claim.owner})),
      c AS (
        SELECT r.alert_id, r.test, r.turn, r.received_at, r.seq FROM dispatch_outbox d JOIN ranked r ON r.alert_id = d.alert_id
        WHERE d.delivered_at IS NULL AND (d.claim_until IS NULL OR d.claim_until <= ${now} OR d.claimed_by = ${claim.owner})
          -- busy (in flight here) jobs keep their kiosk's turn, as in sqlite/index.ts, but are not claimed again
          AND NOT (d.alert_id = ANY(${busy}::text[]))
        ORDER BY r.test, r.turn, r.received_at, r.seq LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED)
      UPDATE dispatch_outbox d SET claimed_by = ${claim.owner}, claim_until = ${now + claim.leaseMs},
        -- a lapsed claim of another owner may have been sent: it counts as an attempt (sqlite/index.ts COUNT_LAPSED)
        attempts = CASE WHEN d.claimed_by IS NOT NULL AND d.claimed_by <> ${claim.owner} THEN d.attempts + 1 ELSE d.attempts END
      FROM c WHERE d.alert_id = c.alert_id
      RETURNING d.alert_id, d.body, d.attempts, c.test, c.turn, c.received_at, c.seq`);
    // In that order (RETURNING keeps none).
    rows.sort((x, y) => Number(x.test) - Number(y.test) || Number(x.turn) - Number(y.turn) || (x.received_at < y.received_at ? -1 : x.received_at > y.received_at ? 1 : x.seq - y.seq));
    return rows.map((r) => ({ alertId: r.alert_id, body: r.body, attempts: r.attempts }));
  }

  async nextDispatchAt(holder: ClaimHolder): Promise<Date | null> {
    const busy = [...(holder.busy ?? [])];
    const [row] = await this.db.run((q) => q<{ at: number }[]>`
      SELECT CASE WHEN claimed_by IS NOT NULL AND claimed_by <> ${holder.owner} AND claim_until > next_attempt_at
                  THEN claim_until ELSE next_attempt_at END AS at
      FROM dispatch_outbox WHERE delivered_at IS NULL AND NOT (alert_id = ANY(${busy}::text[]))
      ORDER BY at, alert_id LIMIT 1`);
    return row === undefined ? null : new Date(row.at);
  }

  async recordAttempt(attempt: AttemptRecord, nextAttemptAt: Date | null): Promise<void> {
    const finishedAt = new Date(Date.parse(attempt.startedAt) + attempt.durationMs).toISOString();
    await this.db.tx(async (tx) => {
      await tx`INSERT INTO dispatch_attempts (alert_id, attempt, started_at, duration_ms, ok, http_status, error)
               VALUES (${attempt.alertId}, ${attempt.attempt}, ${attempt.startedAt}, ${attempt.durationMs}, ${attempt.ok ? 1 : 0}, ${attempt.httpStatus}, ${attempt.error})`;
      await tx`UPDATE dispatch_outbox SET attempts = GREATEST(attempts, ${attempt.attempt}), last_error = ${attempt.error},
                 delivered_at = CASE WHEN ${attempt.ok}::boolean THEN COALESCE(delivered_at, ${finishedAt}) ELSE delivered_at END,
                 next_attempt_at = ${nextAttemptAt?.getTime() ?? null}, claimed_by = NULL, claim_until = NULL
               WHERE alert_id = ${attempt.alertId}`;
    });
  }

  async attemptsFor(alertId: string): Promise<AttemptRecord[]> {
    const rows = await this.db.run((q) => q<{ alert_id: string; attempt: number; started_at: string; duration_ms: number; ok: number; http_status: number | null; error: string | null }[]>`
      SELECT alert_id, attempt, started_at, duration_ms, ok, http_status, error FROM dispatch_attempts WHERE alert_id = ${alertId} ORDER BY attempt, id`);
    return rows.map((r) => ({ alertId: r.alert_id, attempt: r.attempt, startedAt: r.started_at, durationMs: r.duration_ms, ok: r.ok === 1, httpStatus: r.http_status, error: r.error }));
  }

  async countByDelivery(): Promise<Record<DeliveryState, number>> {
    const [row] = await this.db.run((q) => q<{ pending: number; delivered: number }[]>`
      SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL) AS pending, COUNT(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered FROM dispatch_outbox`);
    return { pending: row?.pending ?? 0, delivered: row?.delivered ?? 0 };
  }

  closeAlert(alertId: string, close: { outcome: string; closedBy: string; now: Date; commandId: string; command: (kioskId: string) => string }): Promise<CloseAlertResult> {
    return this.db.tx(async (tx): Promise<CloseAlertResult> => {
      const [row] = await tx<{ kiosk_id: string; closed_at: string | null }[]>`SELECT kiosk_id, closed_at FROM alerts WHERE alert_id = ${alertId} FOR NO KEY UPDATE`;
      if (row === undefined) return "unknown";
      if (row.closed_at !== null) return "already-closed";
      const now = close.now.toISOString();
      await tx`UPDATE alerts SET closed_at = ${now}, outcome = ${close.outcome}, closed_by = ${close.closedBy} WHERE alert_id = ${alertId}`;
      await tx`INSERT INTO kiosk_commands (command_id, kiosk_id, payload, created_at) VALUES (${close.commandId}, ${row.kiosk_id}, ${close.command(row.kiosk_id)}, ${now})`;
      return "closed";
    });
  }

  async pendingCommands(kioskIds?: string | readonly string[]): Promise<PendingCommand[]> {
    const only = kioskIds === undefined ? null : typeof kioskIds === "string" ? [kioskIds] : [...kioskIds];
    const rows = await this.db.run((q) => q<{ command_id: string; kiosk_id: string; payload: string; sent_count: number; last_sent_at: number | null }[]>`
      SELECT command_id, kiosk_id, payload, sent_count, last_sent_at FROM kiosk_commands
      WHERE confirmed_at IS NULL AND (${only}::text[] IS NULL OR kiosk_id = ANY(${only}::text[])) ORDER BY created_at, command_id`);
    return rows.map((r) => ({ commandId: r.command_id, kioskId: r.kiosk_id, payload: r.payload, sentCount: r.sent_count, lastSentAt: r.last_sent_at }));
  }

  async claimCommandSend(commandId: string, at: Date, options: { resendMs: number; force: boolean }): Promise<boolean> {
    const ms = at.getTime();
    const result = await this.db.run((q) => q`
      UPDATE kiosk_commands SET sent_count = sent_count + 1, last_sent_at = ${ms}
      WHERE command_id = ${commandId} AND confirmed_at IS NULL
        AND (${options.force}::boolean OR last_sent_at IS NULL OR last_sent_at <= ${ms - options.resendMs})`);
    return result.count > 0;
  }

  async confirmCommand(commandId: string, kioskId: string, result: string, at: Date): Promise<"confirmed" | "again" | "unknown"> {
    return this.db.run(async (q) => {
      const first = await q`UPDATE kiosk_commands SET confirmed_at = ${at.toISOString()}, result = ${result}
                            WHERE command_id = ${commandId} AND kiosk_id = ${kioskId} AND confirmed_at IS NULL`;
      if (first.count > 0) return "confirmed";
      const known = await q`SELECT 1 FROM kiosk_commands WHERE command_id = ${commandId} AND kiosk_id = ${kioskId}`;
      return known.length === 0 ? "unknown" : "again";
    });
  }

  async getOperator(name: string): Promise<OperatorRecord | undefined> {
    const [row] = await this.db.run((q) => q<OperatorDbRow[]>`SELECT name, password_hash, role, created_at FROM operators WHERE name = ${name}`);
    return row === undefined ? undefined : toOperator(row);
  }

  putOperator(operator: { name: string; passwordHash: string; role?: OperatorRole }, options: { replace: boolean; now: Date }): Promise<boolean> {
    const role = operator.role ?? "operator";
    const now = options.now.toISOString();
    // A replaced operator keeps no session: its rows go in the same transaction (as on SQLite).
    return this.db.tx(async (tx) => {
      const written = options.replace
        ? await tx`INSERT INTO operators (name, password_hash, role, created_at) VALUES (${operator.name}, ${operator.passwordHash}, ${role}, ${now})
                   ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role`
        : await tx`INSERT INTO operators (name, password_hash, role, created_at) VALUES (${operator.name}, ${operator.passwordHash}, ${role}, ${now})
                   ON CONFLICT (name) DO NOTHING`;
      if (written.count > 0 && options.replace) await tx`DELETE FROM operator_sessions WHERE operator = ${operator.name}`;
      return written.count > 0;
    });
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return (await this.db.run((q) => q<OperatorDbRow[]>`SELECT name, password_hash, role, created_at FROM operators ORDER BY name`)).map(toOperator);
  }

  removeOperator(name: string): Promise<boolean> {
    return this.db.tx(async (tx) => {
      await tx`DELETE FROM operator_sessions WHERE operator = ${name}`;
      return (await tx`DELETE FROM operators WHERE name = ${name}`).count > 0;
    });
  }

  /** Keeps the newest REJECTED_PER_KIOSK rows of each kiosk (older ones go at once; all go after historyDays). */
  async recordRejected(m: RejectedMessage): Promise<void> {
    await this.db.tx(async (tx) => {
      await tx`INSERT INTO rejected_messages (kiosk_id, topic, received_at, code, reason, excerpt)
               VALUES (${m.kioskId}, ${m.topic}, ${m.receivedAt}, ${m.code}, ${m.reason}, ${m.excerpt})`;
      // = for a kiosk, IS NULL for an unknown sender: either reads rejected_by_kiosk.
      const sender = m.kioskId === null ? tx`kiosk_id IS NULL` : tx`kiosk_id = ${m.kioskId}`;
      await tx`DELETE FROM rejected_messages WHERE ${sender} AND id <= (
                 SELECT id FROM rejected_messages WHERE ${sender} ORDER BY id DESC LIMIT 1 OFFSET ${REJECTED_PER_KIOSK})`;
    });
  }

  async listRejected(limit: number): Promise<RejectedMessage[]> {
    const rows = await this.db.run((q) => q<{ kiosk_id: string | null; topic: string; received_at: string; code: string; reason: string; excerpt: string }[]>`
      SELECT kiosk_id, topic, received_at, code, reason, excerpt FROM rejected_messages ORDER BY id DESC LIMIT ${limit}`);
    return rows.map((r) => ({ kioskId: r.kiosk_id, topic: r.topic, receivedAt: r.received_at, code: r.code, reason: r.reason, excerpt: r.excerpt }));
  }

  async close(): Promise<void> {
    await this.db.sql.end({ timeout: 5 });
  }
}

interface OperatorDbRow {
  name: string;
  password_hash: string;
  role: OperatorRole;
  created_at: string;
}

const toOperator = (row: OperatorDbRow): OperatorRecord => ({ name: row.name, passwordHash: row.password_hash, role: row.role, createdAt: row.created_at });

/** Creates or upgrades the schema at `url` under the migration lock; returns the versions before and after. */
export async function migratePostgres(url: string, log?: Logger): Promise<{ from: number; to: number }> {
  const client = new PgClient(connect(url, { max: 1 }), url);
  try {
    return await migrateSchema(client, log);
  } finally {
    await client.sql.end({ timeout: 5 }).catch(() => undefined);
  }
}

export { resetIdentities, schemaVersion } from "./schema.js";
export { PgClient, connect, isUnavailable } from "./client.js";

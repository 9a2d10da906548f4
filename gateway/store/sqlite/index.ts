/**
 * SQLite store for a single gateway: WAL journal, synchronous=FULL (a committed alert survives a
 * power cut), one transaction per alert for "stored + queued for dispatch".
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Alert } from "../../../shared/contract.js";
import { ErrorCode, SosError, errorMessage } from "../../../shared/errors.js";
import type {
  AlertRow,
  AttemptRecord,
  CloseAlertResult,
  PendingCommand,
  DeliveryState,
  Claim,
  ClaimHolder,
  DispatchJob,
  GatewayStore,
  KioskRecord,
  OperatorRecord,
  OperatorRole,
  RecordAlertResult,
  RejectedMessage,
} from "../store.js";
import type { ReleaseStore } from "../release-store.js";
import type { LeaseStore } from "../lease-store.js";
import { SqliteLeaseStore } from "./leases.js";
import { SqliteReleaseStore } from "./releases.js";
import type { HealthStore } from "../health-store.js";
import { SqliteHealthStore } from "./health.js";
import type { AlarmStore } from "../alarm-store.js";
import { SqliteAlarmStore } from "./alarms.js";
import type { SecurityStore } from "../security-store.js";
import { SqliteSecurityStore } from "./security.js";
import type { SessionRecordStore } from "../session-store.js";
import type { DispatchUpdateStore } from "../dispatch-update-store.js";
import { SqliteDispatchUpdates } from "./dispatch-updates.js";
import { deleteSessionsOf, SqliteSessionStore } from "./sessions.js";
import { SqliteSmsStore } from "./sms.js";
import type { SmsStore } from "../sms-store.js";
import { migrate } from "./schema.js";
import { secureDataDir, secureStoreFile, secureStoreFiles, type Tightened } from "../data-dir.js";
import * as operatorQueries from "./operators.js";
import { lightWrite } from "./light-write.js";
import { COUNT_LAPSED } from "./event-outbox.js";
import { type AlertDbRow, type KioskDbRow, toAlertRow, toKiosk } from "../rows.js";

export const STORE_FILE = "gateway.db";
/** Rejected messages kept per kiosk (for forensics, the newest are what matter). */
export const REJECTED_PER_KIOSK = 200;



export const ALERT_SELECT = `SELECT a.alert_id, a.kiosk_id, a.kind, a.pressed_at, a.received_at,
  a.press_count, a.closed_at, a.outcome, a.closed_by,
  d.delivered_at, d.attempts, d.next_attempt_at, d.last_error
  FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id`;

export class SqliteStore implements GatewayStore {
  private readonly db: Database.Database;
  readonly health: HealthStore;
  readonly alarms: AlarmStore;
  readonly security: SecurityStore;
  readonly sessions: SessionRecordStore;
  readonly dispatchUpdates: DispatchUpdateStore;
  readonly sms: SmsStore;
  readonly releases: ReleaseStore;
  readonly leases: LeaseStore;

  private constructor(db: Database.Database) {
    this.db = db;
    this.health = new SqliteHealthStore(db);
    this.alarms = new SqliteAlarmStore(db, { select: ALERT_SELECT, toRow: toAlertRow });
    this.security = new SqliteSecurityStore(db);
    this.sessions = new SqliteSessionStore(db);
    this.dispatchUpdates = new SqliteDispatchUpdates(db);
    this.sms = new SqliteSmsStore(db);
    this.releases = new SqliteReleaseStore(db);
    this.leases = new SqliteLeaseStore(db);
  }

  /**
   * Opens (and creates or migrates) the store in `dataDir`. `readonly` is for inspection commands.
   * A writable open makes the folder 0700 and the database files 0600 (data-dir.ts); `tightened`
   * is told of each one it had to chmod (the gateway logs it).
   */
  static open(dataDir: string, options: { readonly?: boolean; mustExist?: boolean; tightened?: (t: Tightened) => void } = {}): SqliteStore {
    const path = join(dataDir, STORE_FILE);
    const mustExist = options.readonly === true || options.mustExist === true;
    const writable = options.readonly !== true;
    let db: Database.Database;
    try {
      const tightened: Tightened[] = [];
      // Before SQLite opens it: the -wal and -shm it creates take the database file's mode.
      if (!mustExist) tightened.push(...secureDataDir(dataDir), ...secureStoreFile(path));
      else if (writable && existsSync(path)) tightened.push(...secureDataDir(dataDir), ...secureStoreFiles(path));
      db = new Database(path, { readonly: options.readonly === true, fileMustExist: mustExist });
      db.pragma("busy_timeout = 5000");
      // A file that is not a database (or a damaged one) fails here, with the hint below, not at a first query.
      db.prepare("SELECT count(*) FROM sqlite_master").get();
      if (writable) {
        db.pragma("journal_mode = WAL");
        tightened.push(...secureStoreFiles(path));
      }
      for (const t of tightened) options.tightened?.(t);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const hint =
        code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT"
          ? "the file is not a SQLite database, or is damaged: check --data-dir, or restore gateway.db from a backup (docs/store.md)"
          : mustExist
            ? "check --data-dir (it must hold a gateway's gateway.db)"
            : "check that --data-dir is writable";
      throw new SosError(ErrorCode.StoreUnavailable, `cannot open the gateway store ${path}: ${errorMessage(err)}; ${hint}`, { cause: err });
    }
    if (writable) {
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      migrate(db);
    }
    return new SqliteStore(db);
  }

  getKiosk(kioskId: string): Promise<KioskRecord | undefined> {
    const row = this.db.prepare<[string], KioskDbRow>("SELECT * FROM kiosks WHERE kiosk_id = ?").get(kioskId);
    return Promise.resolve(row === undefined ? undefined : toKiosk(row));
  }

  getKiosks(kioskIds: readonly string[]): Promise<KioskRecord[]> {
    const get = this.db.prepare<[string], KioskDbRow>("SELECT * FROM kiosks WHERE kiosk_id = ?");
    return Promise.resolve([...new Set(kioskIds)].flatMap((kioskId) => get.get(kioskId) ?? []).map(toKiosk));
  }

  putKiosk(kiosk: Omit<KioskRecord, "createdAt" | "updatedAt">, options: { replace: boolean; now: Date }): Promise<boolean> {
    const now = options.now.toISOString();
    const params = {
      kiosk_id: kiosk.kioskId,
      secret_hash: kiosk.secretHash,
      name: kiosk.name,
      lat: kiosk.location.lat,
      lon: kiosk.location.lon,
      address: kiosk.location.address,
      region: kiosk.region ?? null,
      now,
    };
    const sql = options.replace
      ? `INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, region, created_at, updated_at)
         VALUES (@kiosk_id, @secret_hash, @name, @lat, @lon, @address, @region, @now, @now)
         ON CONFLICT(kiosk_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name,
           lat = excluded.lat, lon = excluded.lon, address = excluded.address, region = excluded.region, updated_at = excluded.updated_at`
      : `INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, region, created_at, updated_at)
         VALUES (@kiosk_id, @secret_hash, @name, @lat, @lon, @address, @region, @now, @now)
         ON CONFLICT(kiosk_id) DO NOTHING`;
    const tx = this.db.transaction((): boolean => {
      const before = options.replace ? this.db.prepare<[string], { secret_hash: string }>("SELECT secret_hash FROM kiosks WHERE kiosk_id = ?").get(kiosk.kioskId) : undefined;
      const changes = this.db.prepare(sql).run(params).changes;
      // A new secret (re-provisioned with --force): the running gateway cuts the old one's live session.
      if (before !== undefined && before.secret_hash !== kiosk.secretHash) this.db.prepare("INSERT INTO revocations (kiosk_id, at) VALUES (?, ?)").run(kiosk.kioskId, now);
      return changes > 0;
    });
    return Promise.resolve(tx.immediate());
  }

  listKiosks(): Promise<KioskRecord[]> {
    return Promise.resolve(this.db.prepare<[], KioskDbRow>("SELECT * FROM kiosks ORDER BY kiosk_id").all().map(toKiosk));
  }

  recordAlert(alert: Alert, receivedAt: Date, dispatchBody: string, claim?: Claim): Promise<RecordAlertResult> {
    const pressCount = alert.pressCount ?? 1;
    const tx = this.db.transaction((): RecordAlertResult => {
      const existing = this.db
        .prepare<[string], { kiosk_id: string; received_at: string; press_count: number }>(
          "SELECT kiosk_id, received_at, press_count FROM alerts WHERE alert_id = ?",
        )
        .get(alert.alertId);
      if (existing !== undefined) {
        if (existing.kiosk_id !== alert.kioskId) return { outcome: "conflict", ownerKioskId: existing.kiosk_id };
        if (pressCount <= existing.press_count) {
          return { outcome: "duplicate", receivedAt: existing.received_at, pressCount: existing.press_count, updated: false };
        }
        this.db
          .prepare("UPDATE alerts SET press_count = ?, last_press_at = ? WHERE alert_id = ?")
          .run(pressCount, alert.lastPressAt ?? null, alert.alertId);
        return { outcome: "duplicate", receivedAt: existing.received_at, pressCount, updated: true };
      }
      const received = receivedAt.toISOString();
      this.db
        .prepare(
          `INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload, press_count, last_press_at, trigger,
                               closed_at, outcome, closed_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          alert.alertId, alert.kioskId, alert.kind, alert.pressedAt, received, JSON.stringify(alert), pressCount, alert.lastPressAt ?? null, alert.trigger ?? null,
          // A test alarm opens nothing on the kiosk, so it is closed as it is stored: it never waits
          // in an operator's queue. It is still dispatched (flagged as a test) like any alert.
          ...(alert.kind === "test" ? [received, "test", "system"] : [null, null, null]),
        );
      this.db
        .prepare("INSERT INTO dispatch_outbox (alert_id, body, attempts, next_attempt_at, claimed_by, claim_until) VALUES (?, ?, 0, ?, ?, ?)")
        .run(alert.alertId, dispatchBody, receivedAt.getTime(), claim?.owner ?? null, claim === undefined ? null : claim.now.getTime() + claim.leaseMs);
      const job = claim === undefined ? {} : { job: { alertId: alert.alertId, body: dispatchBody, attempts: 0 } };
      return { outcome: "stored", receivedAt: received, pressCount, ...job };
    });
    return Promise.resolve(tx.immediate());
  }

  listAlerts(options: { limit?: number; open?: boolean } = {}): Promise<AlertRow[]> {
    const where = options.open === true ? "WHERE a.closed_at IS NULL" : "";
    const rows = this.db
      .prepare<[number], AlertDbRow>(`${ALERT_SELECT} ${where} ORDER BY a.received_at DESC, a.alert_id LIMIT ?`)
      // LIMIT -1: no limit (every open alarm).
      .all(options.limit ?? (options.open === true ? -1 : 1_000));
    return Promise.resolve(rows.map(toAlertRow));
  }

  getAlert(alertId: string): Promise<AlertRow | undefined> {
    const row = this.db.prepare<[string], AlertDbRow>(`${ALERT_SELECT} WHERE a.alert_id = ?`).get(alertId);
    return Promise.resolve(row === undefined ? undefined : toAlertRow(row));
  }

  claimDispatches(dueBy: Date, limit: number, claim: Claim): Promise<DispatchJob[]> {
    const busy = claim.busy ?? new Set<string>();
    const claimed = lightWrite(this.db, (): DispatchJob[] => {
      const rows = this.db
        .prepare<{ due: number; now: number; owner: string; n: number }, { alert_id: string; body: string; attempts: number }>(
          // DISPATCH_ORDER: SOS alarms before test alarms; each kiosk's oldest waiting one first, then
          // each one's second…, oldest first among them: after an outage the backlog reaches dispatch
          // in the order it should be handled, and no kiosk's flood holds back another kiosk's alarm.
          `SELECT alert_id, body, attempts FROM (
             SELECT d.alert_id, d.body, d.attempts, a.kind = 'test' AS test, a.received_at, d.rowid AS seq,
                    ROW_NUMBER() OVER (PARTITION BY a.kiosk_id, a.kind = 'test' ORDER BY a.received_at, d.rowid) AS turn
             FROM dispatch_outbox d JOIN alerts a ON a.alert_id = d.alert_id
             WHERE d.delivered_at IS NULL AND d.next_attempt_at <= @due
               AND (d.claim_until IS NULL OR d.claim_until <= @now OR d.claimed_by = @owner))
           ORDER BY test, turn, received_at, seq LIMIT @n`,
        )
        .all({ due: dueBy.getTime(), now: claim.now.getTime(), owner: claim.owner, n: limit + busy.size });
      const jobs = rows.filter((r) => !busy.has(r.alert_id)).slice(0, limit);
      const hold = this.db.prepare<[string, string, number, string], { attempts: number }>(`UPDATE dispatch_outbox SET ${COUNT_LAPSED}, claimed_by = ?, claim_until = ? WHERE alert_id = ? RETURNING attempts`);
      return jobs.map((r) => ({ alertId: r.alert_id, body: r.body, attempts: hold.get(claim.owner, claim.owner, claim.now.getTime() + claim.leaseMs, r.alert_id)?.attempts ?? r.attempts }));
    });
    return Promise.resolve(claimed);
  }

  nextDispatchAt(holder: ClaimHolder): Promise<Date | null> {
    const busy = holder.busy ?? new Set<string>();
    const rows = this.db
      .prepare<{ owner: string; n: number }, { alert_id: string; at: number }>(
        `SELECT alert_id, CASE WHEN claimed_by IS NOT NULL AND claimed_by != @owner AND claim_until > next_attempt_at
                               THEN claim_until ELSE next_attempt_at END AS at
         FROM dispatch_outbox WHERE delivered_at IS NULL ORDER BY at, alert_id LIMIT @n`,
      )
      .all({ owner: holder.owner, n: busy.size + 1 });
    const next = rows.find((r) => !busy.has(r.alert_id));
    return Promise.resolve(next === undefined ? null : new Date(next.at));
  }

  recordAttempt(attempt: AttemptRecord, nextAttemptAt: Date | null): Promise<void> {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO dispatch_attempts (alert_id, attempt, started_at, duration_ms, ok, http_status, error)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(attempt.alertId, attempt.attempt, attempt.startedAt, attempt.durationMs, attempt.ok ? 1 : 0, attempt.httpStatus, attempt.error);
      const finishedAt = new Date(Date.parse(attempt.startedAt) + attempt.durationMs).toISOString();
      this.db
        .prepare(
          `UPDATE dispatch_outbox SET attempts = MAX(attempts, ?), last_error = ?,
             delivered_at = CASE WHEN ? THEN COALESCE(delivered_at, ?) ELSE delivered_at END,
             next_attempt_at = ?, claimed_by = NULL, claim_until = NULL
           WHERE alert_id = ?`,
        )
        .run(attempt.attempt, attempt.error, attempt.ok ? 1 : 0, finishedAt, nextAttemptAt?.getTime() ?? null, attempt.alertId);
    });
    tx.immediate();
    return Promise.resolve();
  }

  attemptsFor(alertId: string): Promise<AttemptRecord[]> {
    const rows = this.db
      .prepare<[string], { alert_id: string; attempt: number; started_at: string; duration_ms: number; ok: number; http_status: number | null; error: string | null }>(
        "SELECT * FROM dispatch_attempts WHERE alert_id = ? ORDER BY attempt, id",
      )
      .all(alertId);
    return Promise.resolve(
      rows.map((r) => ({
        alertId: r.alert_id,
        attempt: r.attempt,
        startedAt: r.started_at,
        durationMs: r.duration_ms,
        ok: r.ok === 1,
        httpStatus: r.http_status,
        error: r.error,
      })),
    );
  }

  countByDelivery(): Promise<Record<DeliveryState, number>> {
    const row = this.db
      .prepare<[], { pending: number | null; delivered: number | null }>(
        `SELECT SUM(delivered_at IS NULL) AS pending, SUM(delivered_at IS NOT NULL) AS delivered FROM dispatch_outbox`,
      )
      .get();
    return Promise.resolve({ pending: row?.pending ?? 0, delivered: row?.delivered ?? 0 });
  }

  closeAlert(
    alertId: string,
    close: { outcome: string; closedBy: string; now: Date; commandId: string; command: (kioskId: string) => string },
  ): Promise<CloseAlertResult> {
    const tx = this.db.transaction((): CloseAlertResult => {
      const row = this.db
        .prepare<[string], { kiosk_id: string; closed_at: string | null }>("SELECT kiosk_id, closed_at FROM alerts WHERE alert_id = ?")
        .get(alertId);
      if (row === undefined) return "unknown";
      if (row.closed_at !== null) return "already-closed";
      const now = close.now.toISOString();
      this.db.prepare("UPDATE alerts SET closed_at = ?, outcome = ?, closed_by = ? WHERE alert_id = ?").run(now, close.outcome, close.closedBy, alertId);
      this.db
        .prepare("INSERT INTO kiosk_commands (command_id, kiosk_id, payload, created_at) VALUES (?, ?, ?, ?)")
        .run(close.commandId, row.kiosk_id, close.command(row.kiosk_id), now);
      return "closed";
    });
    return Promise.resolve(tx.immediate());
  }

  pendingCommands(kioskIds?: string | readonly string[]): Promise<PendingCommand[]> {
    const only = kioskIds === undefined ? null : JSON.stringify(typeof kioskIds === "string" ? [kioskIds] : kioskIds);
    const rows = this.db
      .prepare<[string | null, string | null], { command_id: string; kiosk_id: string; payload: string; sent_count: number; last_sent_at: number | null }>(
        `SELECT command_id, kiosk_id, payload, sent_count, last_sent_at FROM kiosk_commands
         WHERE confirmed_at IS NULL AND (? IS NULL OR kiosk_id IN (SELECT value FROM json_each(?))) ORDER BY created_at, command_id`,
      )
      .all(only, only);
    return Promise.resolve(
      rows.map((r) => ({ commandId: r.command_id, kioskId: r.kiosk_id, payload: r.payload, sentCount: r.sent_count, lastSentAt: r.last_sent_at })),
    );
  }

  claimCommandSend(commandId: string, at: Date, options: { resendMs: number; force: boolean }): Promise<boolean> {
    const changes = this.db
      .prepare(
        `UPDATE kiosk_commands SET sent_count = sent_count + 1, last_sent_at = @at
         WHERE command_id = @commandId AND confirmed_at IS NULL AND (@force OR last_sent_at IS NULL OR last_sent_at <= @at - @resendMs)`,
      )
      .run({ at: at.getTime(), commandId, force: options.force ? 1 : 0, resendMs: options.resendMs }).changes;
    return Promise.resolve(changes > 0);
  }

  confirmCommand(commandId: string, kioskId: string, result: string, at: Date): Promise<"confirmed" | "again" | "unknown"> {
    const first = this.db
      .prepare("UPDATE kiosk_commands SET confirmed_at = ?, result = ? WHERE command_id = ? AND kiosk_id = ? AND confirmed_at IS NULL")
      .run(at.toISOString(), result, commandId, kioskId).changes;
    if (first > 0) return Promise.resolve("confirmed");
    const known = this.db.prepare("SELECT 1 FROM kiosk_commands WHERE command_id = ? AND kiosk_id = ?").get(commandId, kioskId);
    return Promise.resolve(known === undefined ? "unknown" : "again");
  }

  getOperator(name: string): Promise<OperatorRecord | undefined> {
    return Promise.resolve(operatorQueries.get(this.db, name));
  }

  putOperator(operator: { name: string; passwordHash: string; role?: OperatorRole }, options: { replace: boolean; now: Date }): Promise<boolean> {
    // A replaced operator (a leaked password, a demotion) keeps no session: its rows go in the same
    // transaction, and a running gateway ends the cached ones within a poll (operators/feature.ts).
    const tx = this.db.transaction((): boolean => {
      const written = operatorQueries.put(this.db, operator, options);
      if (written && options.replace) deleteSessionsOf(this.db, operator.name);
      return written;
    });
    return Promise.resolve(tx.immediate());
  }

  removeOperator(name: string): Promise<boolean> {
    // Its sessions go with it: a running gateway also ends them within a poll (operators/feature.ts).
    const tx = this.db.transaction((): boolean => {
      deleteSessionsOf(this.db, name);
      return operatorQueries.remove(this.db, name);
    });
    return Promise.resolve(tx.immediate());
  }

  listOperators(): Promise<OperatorRecord[]> {
    return Promise.resolve(operatorQueries.list(this.db));
  }

  /** Keeps the newest REJECTED_PER_KIOSK rows of each kiosk (older ones go at once; all go after historyDays). */
  recordRejected(m: RejectedMessage): Promise<void> {
    const tx = this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO rejected_messages (kiosk_id, topic, received_at, code, reason, excerpt) VALUES (?, ?, ?, ?, ?, ?)")
        .run(m.kioskId, m.topic, m.receivedAt, m.code, m.reason, m.excerpt);
      this.db
        .prepare(
          `DELETE FROM rejected_messages WHERE kiosk_id IS ? AND id <= (
             SELECT id FROM rejected_messages WHERE kiosk_id IS ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        )
        .run(m.kioskId, m.kioskId, REJECTED_PER_KIOSK);
    });
    tx.immediate();
    return Promise.resolve();
  }

  listRejected(limit: number): Promise<RejectedMessage[]> {
    const rows = this.db
      .prepare<[number], { kiosk_id: string | null; topic: string; received_at: string; code: string; reason: string; excerpt: string }>(
        "SELECT kiosk_id, topic, received_at, code, reason, excerpt FROM rejected_messages ORDER BY id DESC LIMIT ?",
      )
      .all(limit);
    return Promise.resolve(
      rows.map((r) => ({ kioskId: r.kiosk_id, topic: r.topic, receivedAt: r.received_at, code: r.code, reason: r.reason, excerpt: r.excerpt })),
    );
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

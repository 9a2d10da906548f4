/** The supervision tables (migration 4) behind HealthStore, kept apart from sqlite.ts to keep that file readable. */
import type Database from "better-sqlite3";
import type { KioskStateName, OpsEventType } from "../../../shared/ops.js";
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type {
  HealthStore,
  HeartbeatRecord,
  KioskHealthRow,
  OpsOutboxRow,
  QueuedOpsEvent,
  RegistryChange,
  TransitionRecord,
} from "../health-store.js";
import type { Claim, ClaimHolder } from "../store.js";
import { SqliteEventOutbox } from "./event-outbox.js";

interface HealthDbRow {
  kiosk_id: string;
  name: string | null;
  address: string;
  decommissioned_at: string | null;
  state: KioskStateName | null;
  since: string | null;
  reason: string | null;
  components: string | null;
  first_seen_at: string | null;
  last_heartbeat_at: string | null;
  interval_s: number | null;
  last_test_alarm_at: string | null;
  last_test_alert_at: string | null;
  report?: string | null;
}

// The last test alert comes from the partial index alerts_test_by_kiosk (one seek per kiosk).
const HEALTH_SELECT = `SELECT /*report*/ k.kiosk_id, k.name, k.address, k.decommissioned_at,
  h.state, h.since, h.reason, h.components, h.first_seen_at,
  b.received_at AS last_heartbeat_at, b.interval_s, b.last_test_alarm_at,
  (SELECT a.received_at FROM alerts a WHERE a.kind = 'test' AND a.kiosk_id = k.kiosk_id ORDER BY a.received_at DESC LIMIT 1) AS last_test_alert_at
  FROM kiosks k
  LEFT JOIN kiosk_health h ON h.kiosk_id = k.kiosk_id
  LEFT JOIN kiosk_heartbeats b ON b.kiosk_id = k.kiosk_id`;

const parseComponents = (json: string | null): string[] => (json === null ? [] : (JSON.parse(json) as string[]));

function toHealth(row: HealthDbRow): KioskHealthRow {
  return {
    kioskId: row.kiosk_id,
    name: row.name,
    address: row.address,
    decommissionedAt: row.decommissioned_at,
    state: row.state,
    since: row.since,
    reason: row.reason,
    components: parseComponents(row.components),
    firstSeenAt: row.first_seen_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    intervalS: row.interval_s,
    lastTestAlarmAt: row.last_test_alarm_at,
    lastTestAlertAt: row.last_test_alert_at,
    report: row.report ?? null,
  };
}

export class SqliteHealthStore implements HealthStore {
  /** One kiosk's operations events go out in the order they were queued (the last one a receiver gets is the kiosk's state). */
  private readonly ops: SqliteEventOutbox;

  constructor(private readonly db: Database.Database) {
    this.ops = new SqliteEventOutbox(db, "ops_outbox", "kiosk_id");
  }

  listHealth(options: { reports?: boolean } = {}): Promise<KioskHealthRow[]> {
    const select = options.reports === true ? HEALTH_SELECT.replace("/*report*/", "b.report,") : HEALTH_SELECT;
    return Promise.resolve(this.db.prepare<[], HealthDbRow>(`${select} ORDER BY k.kiosk_id`).all().map(toHealth));
  }

  getHealth(kioskId: string, options: { reports?: boolean } = {}): Promise<KioskHealthRow | undefined> {
    const select = options.reports === true ? HEALTH_SELECT.replace("/*report*/", "b.report,") : HEALTH_SELECT;
    const row = this.db.prepare<[string], HealthDbRow>(`${select} WHERE k.kiosk_id = ?`).get(kioskId);
    return Promise.resolve(row === undefined ? undefined : toHealth(row));
  }

  getHealthOf(kioskIds: readonly string[]): Promise<KioskHealthRow[]> {
    const get = this.db.prepare<[string], HealthDbRow>(`${HEALTH_SELECT} WHERE k.kiosk_id = ?`);
    const rows = [...new Set(kioskIds)].sort().flatMap((kioskId) => get.get(kioskId) ?? []);
    return Promise.resolve(rows.map(toHealth));
  }

  recordSupervision(batch: { transitions: readonly TransitionRecord[]; events: readonly QueuedOpsEvent[] }): Promise<void> {
    const insertTransition = this.db.prepare(
      "INSERT INTO kiosk_transitions (kiosk_id, from_state, to_state, reason, components, at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    // `since` moves only when the state does (a degraded kiosk whose failing parts change stays degraded since then).
    const upsertState = this.db.prepare(
      `INSERT INTO kiosk_health (kiosk_id, state, since, reason, components, first_seen_at)
       VALUES (@kioskId, @to, @at, @reason, @components, CASE WHEN @seen THEN @at END)
       ON CONFLICT(kiosk_id) DO UPDATE SET
         since = CASE WHEN kiosk_health.state = excluded.state THEN kiosk_health.since ELSE excluded.since END,
         state = excluded.state, reason = excluded.reason, components = excluded.components,
         first_seen_at = COALESCE(kiosk_health.first_seen_at, excluded.first_seen_at)`,
    );
    const insertEvent = this.db.prepare(
      "INSERT INTO ops_outbox (event_id, kiosk_id, type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
    );
    this.db
      .transaction(() => {
        for (const t of batch.transitions) {
          const components = JSON.stringify(t.components);
          insertTransition.run(t.kioskId, t.from, t.to, t.reason, components, t.at);
          upsertState.run({ kioskId: t.kioskId, to: t.to, at: t.at, reason: t.reason, components, seen: t.to === "online" || t.to === "degraded" ? 1 : 0 });
        }
        for (const e of batch.events) insertEvent.run(e.eventId, e.kioskId, e.type, e.body, e.createdAt, Date.parse(e.createdAt));
      })
      .immediate();
    return Promise.resolve();
  }

  saveHeartbeats(rows: readonly HeartbeatRecord[]): Promise<void> {
    const upsert = this.db.prepare(
      `INSERT INTO kiosk_heartbeats (kiosk_id, received_at, interval_s, last_test_alarm_at, report) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(kiosk_id) DO UPDATE SET received_at = excluded.received_at, interval_s = excluded.interval_s,
         last_test_alarm_at = excluded.last_test_alarm_at, report = excluded.report`,
    );
    // A row whose report is unchanged keeps the stored one (a kiosk without a row yet waits for its next full report).
    const keep = this.db.prepare("UPDATE kiosk_heartbeats SET received_at = ?, interval_s = ?, last_test_alarm_at = ? WHERE kiosk_id = ?");
    this.db
      .transaction(() => {
        for (const r of rows) {
          if (r.report === null) keep.run(r.receivedAt, r.intervalS, r.lastTestAlarmAt, r.kioskId);
          else upsert.run(r.kioskId, r.receivedAt, r.intervalS, r.lastTestAlarmAt, r.report);
        }
      })
      .immediate();
    return Promise.resolve();
  }

  transitions(kioskId: string, limit: number): Promise<TransitionRecord[]> {
    const rows = this.db
      .prepare<[string, number], { kiosk_id: string; from_state: KioskStateName; to_state: KioskStateName; reason: string; components: string; at: string }>(
        "SELECT kiosk_id, from_state, to_state, reason, components, at FROM kiosk_transitions WHERE kiosk_id = ? ORDER BY id DESC LIMIT ?",
      )
      .all(kioskId, limit);
    return Promise.resolve(
      rows.map((r) => ({ kioskId: r.kiosk_id, from: r.from_state, to: r.to_state, reason: r.reason, components: parseComponents(r.components), at: r.at })),
    );
  }

  registryChangedSince(after: string | null): Promise<RegistryChange[]> {
    // >= and not >: two updates in the same millisecond must not hide one another (re-reading one is harmless).
    const select = "SELECT kiosk_id, decommissioned_at, updated_at FROM kiosks";
    type Row = { kiosk_id: string; decommissioned_at: string | null; updated_at: string };
    const rows =
      after === null
        ? this.db.prepare<[], Row>(`${select} ORDER BY updated_at, kiosk_id`).all()
        : this.db.prepare<[string], Row>(`${select} WHERE updated_at >= ? ORDER BY updated_at, kiosk_id`).all(after);
    return Promise.resolve(rows.map((r) => ({ kioskId: r.kiosk_id, decommissionedAt: r.decommissioned_at, updatedAt: r.updated_at })));
  }

  setDecommissioned(kioskId: string, decommissioned: boolean, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const changes = this.db
      .prepare(
        `UPDATE kiosks SET decommissioned_at = CASE WHEN @on THEN COALESCE(decommissioned_at, @at) END, updated_at = @at WHERE kiosk_id = @kioskId`,
      )
      .run({ on: decommissioned ? 1 : 0, at, kioskId }).changes;
    return Promise.resolve(changes > 0);
  }

  pruneHistory(before: Date): Promise<{ opsEvents: number; transitions: number; testAlerts: number; rejected: number }> {
    const at = before.toISOString();
    const prune = this.db.transaction(() => ({
      testAlerts: this.pruneTestAlerts(at),
      opsEvents: this.db.prepare("DELETE FROM ops_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?").run(at).changes,
      // A kiosk's newest transition is kept whatever its age: it is where its current state came from.
      transitions: this.db
        .prepare("DELETE FROM kiosk_transitions WHERE at < ? AND id NOT IN (SELECT MAX(id) FROM kiosk_transitions GROUP BY kiosk_id)")
        .run(at).changes,
      rejected: this.db.prepare("DELETE FROM rejected_messages WHERE received_at < ?").run(at).changes,
    }));
    return Promise.resolve(prune.immediate());
  }

  /** Old, delivered test alarms (10 000 kiosks test daily: 3.6 million a year), children first. */
  private pruneTestAlerts(at: string): number {
    this.db.exec("CREATE TEMP TABLE IF NOT EXISTS prune_ids (alert_id TEXT PRIMARY KEY)");
    this.db.exec("DELETE FROM prune_ids");
    this.db
      .prepare(
        `INSERT INTO prune_ids SELECT a.alert_id FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id
         WHERE a.kind = 'test' AND a.received_at < ? AND d.delivered_at IS NOT NULL
           AND a.received_at < (SELECT MAX(b.received_at) FROM alerts b WHERE b.kiosk_id = a.kiosk_id AND b.kind = 'test')`,
      )
      .run(at);
    for (const table of ["alert_events", "escalation_outbox", "dispatch_attempts", "dispatch_outbox"]) {
      this.db.exec(`DELETE FROM ${table} WHERE alert_id IN (SELECT alert_id FROM prune_ids)`);
    }
    return this.db.prepare("DELETE FROM alerts WHERE alert_id IN (SELECT alert_id FROM prune_ids)").run().changes;
  }

  claimOps(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]> {
    return this.ops.claim(dueBy, limit, claim);
  }

  nextOpsAt(holder: ClaimHolder): Promise<Date | null> {
    return this.ops.nextAt(holder);
  }

  recordOpsAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    return this.ops.recordAttempt(attempt, nextAttemptAt);
  }

  listOps(limit: number): Promise<OpsOutboxRow[]> {
    const rows = this.db
      .prepare<[number], { event_id: string; kiosk_id: string | null; type: OpsEventType; body: string; attempts: number; delivered_at: string | null; last_error: string | null }>(
        "SELECT event_id, kiosk_id, type, body, attempts, delivered_at, last_error FROM ops_outbox ORDER BY rowid DESC LIMIT ?",
      )
      .all(limit);
    return Promise.resolve(
      rows.map((r) => ({ eventId: r.event_id, kioskId: r.kiosk_id, type: r.type, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at, lastError: r.last_error })),
    );
  }

  pendingOpsCount(): Promise<number> {
    return Promise.resolve(this.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM ops_outbox WHERE delivered_at IS NULL").get()?.n ?? 0);
  }

  pendingDispatchCount(): Promise<number> {
    return Promise.resolve(this.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM dispatch_outbox WHERE delivered_at IS NULL").get()?.n ?? 0);
  }
}

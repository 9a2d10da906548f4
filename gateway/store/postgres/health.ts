/** The supervision tables behind HealthStore on PostgreSQL (as sqlite/health.ts). */
import type { KioskStateName, OpsEventType } from "../../../shared/ops.js";
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import { foldTransitions, type HealthStore, type HeartbeatRecord, type KioskHealthRow, type OpsOutboxRow, type QueuedOpsEvent, type RegistryChange, type TransitionRecord } from "../health-store.js";
import type { Claim, ClaimHolder } from "../store.js";
import type { PgClient, Q } from "./client.js";
import { PgEventOutbox } from "./event-outbox.js";

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
  report: string | null;
}

// The last test alert comes from the partial index alerts_test_by_kiosk (one seek per kiosk).
const healthSelect = (q: Q, reports: boolean) => q`SELECT k.kiosk_id, k.name, k.address, k.decommissioned_at,
  h.state, h.since, h.reason, h.components, h.first_seen_at,
  b.received_at AS last_heartbeat_at, b.interval_s, b.last_test_alarm_at, ${reports ? q`b.report` : q`NULL::text`} AS report,
  (SELECT a.received_at FROM alerts a WHERE a.kind = 'test' AND a.kiosk_id = k.kiosk_id ORDER BY a.received_at DESC LIMIT 1) AS last_test_alert_at
  FROM kiosks k
  LEFT JOIN kiosk_health h ON h.kiosk_id = k.kiosk_id
  LEFT JOIN kiosk_heartbeats b ON b.kiosk_id = k.kiosk_id`;

/** Rows per multi-row statement: 6 columns each, well under PostgreSQL's 65 535 parameters. */
const ROWS_PER_STATEMENT = 2_000;
const chunks = <T>(rows: readonly T[]): T[][] => Array.from({ length: Math.ceil(rows.length / ROWS_PER_STATEMENT) }, (_, i) => rows.slice(i * ROWS_PER_STATEMENT, (i + 1) * ROWS_PER_STATEMENT));

const parseComponents = (json: string | null): string[] => (json === null ? [] : (JSON.parse(json) as string[]));

const toHealth = (row: HealthDbRow): KioskHealthRow => ({
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
  report: row.report,
});

export class PgHealthStore implements HealthStore {
  private readonly ops: PgEventOutbox;

  constructor(private readonly db: PgClient) {
    this.ops = new PgEventOutbox(db, "ops_outbox", "kiosk_id");
  }

  async listHealth(options: { reports?: boolean } = {}): Promise<KioskHealthRow[]> {
    return (await this.db.run((q) => q<HealthDbRow[]>`${healthSelect(q, options.reports === true)} ORDER BY k.kiosk_id`)).map(toHealth);
  }

  async getHealth(kioskId: string, options: { reports?: boolean } = {}): Promise<KioskHealthRow | undefined> {
    const [row] = await this.db.run((q) => q<HealthDbRow[]>`${healthSelect(q, options.reports === true)} WHERE k.kiosk_id = ${kioskId}`);
    return row === undefined ? undefined : toHealth(row);
  }

  async getHealthOf(kioskIds: readonly string[]): Promise<KioskHealthRow[]> {
    if (kioskIds.length === 0) return [];
    const ids = [...new Set(kioskIds)];
    return (await this.db.run((q) => q<HealthDbRow[]>`${healthSelect(q, false)} WHERE k.kiosk_id = ANY(${ids}::text[]) ORDER BY k.kiosk_id`)).map(toHealth);
  }

  async recordSupervision(batch: { transitions: readonly TransitionRecord[]; events: readonly QueuedOpsEvent[] }): Promise<void> {
    if (batch.transitions.length === 0 && batch.events.length === 0) return;
    // A fleet dropping at once is thousands of transitions: a few statements, not three per kiosk.
    const transitions = batch.transitions.map((t) => ({ kiosk_id: t.kioskId, from_state: t.from, to_state: t.to, reason: t.reason, components: JSON.stringify(t.components), at: t.at }));
    const states = foldTransitions(batch.transitions);
    // The first of two events with one id wins, as ON CONFLICT DO NOTHING row by row did.
    const firsts = new Map<string, QueuedOpsEvent>();
    for (const e of batch.events) if (!firsts.has(e.eventId)) firsts.set(e.eventId, e);
    const events = [...firsts.values()].map((e) => ({
      event_id: e.eventId, kiosk_id: e.kioskId, type: e.type, body: e.body, created_at: e.createdAt, next_attempt_at: Date.parse(e.createdAt),
    }));
    await this.db.tx(async (tx) => {
      for (const rows of chunks(transitions)) {
        await tx`INSERT INTO kiosk_transitions ${tx(rows, "kiosk_id", "from_state", "to_state", "reason", "components", "at")}`;
      }
      for (const changed of [false, true]) {
        const rows = states.filter((s) => s.changed === changed).map((s) => ({ kiosk_id: s.kioskId, state: s.state, since: s.since, reason: s.reason, components: s.components, first_seen_at: s.firstSeenAt }));
        for (const part of chunks(rows)) {
          // `since` moves only when the state does (foldTransitions: within the batch it did when `changed`).
          await tx`INSERT INTO kiosk_health ${tx(part, "kiosk_id", "state", "since", "reason", "components", "first_seen_at")}
                   ON CONFLICT (kiosk_id) DO UPDATE SET
                     since = ${changed ? tx`excluded.since` : tx`CASE WHEN kiosk_health.state = excluded.state THEN kiosk_health.since ELSE excluded.since END`},
                     state = excluded.state, reason = excluded.reason, components = excluded.components,
                     first_seen_at = COALESCE(kiosk_health.first_seen_at, excluded.first_seen_at)`;
        }
      }
      for (const rows of chunks(events)) {
        await tx`INSERT INTO ops_outbox ${tx(rows, "event_id", "kiosk_id", "type", "body", "created_at", "next_attempt_at")} ON CONFLICT (event_id) DO NOTHING`;
      }
    });
  }

  async saveHeartbeats(rows: readonly HeartbeatRecord[]): Promise<void> {
    if (rows.length === 0) return;
    // One statement for the batch (thousands of kiosks beat every interval).
    // One row per kiosk (the last of a batch wins, as on SQLite): ON CONFLICT cannot touch a row twice.
    const last = [...new Map(rows.map((r) => [r.kioskId, r])).values()];
    const full = last.filter((r) => r.report !== null).map((r) => ({ kiosk_id: r.kioskId, received_at: r.receivedAt, interval_s: r.intervalS, last_test_alarm_at: r.lastTestAlarmAt, report: r.report }));
    // A row whose report is unchanged keeps the stored one: only the small columns change, and PostgreSQL
    // logs little of such an update (a kiosk without a row yet waits for its next full report).
    const kept = last.filter((r) => r.report === null);
    if (full.length > 0) {
      await this.db.run((q) => q`
        INSERT INTO kiosk_heartbeats ${q(full, "kiosk_id", "received_at", "interval_s", "last_test_alarm_at", "report")}
        ON CONFLICT (kiosk_id) DO UPDATE SET received_at = excluded.received_at, interval_s = excluded.interval_s,
          last_test_alarm_at = excluded.last_test_alarm_at, report = excluded.report`);
    }
    if (kept.length > 0) {
      const ids = kept.map((r) => r.kioskId);
      const at = kept.map((r) => r.receivedAt);
      const interval = kept.map((r) => r.intervalS);
      const lastTest = kept.map((r) => r.lastTestAlarmAt);
      await this.db.run((q) => q`
        UPDATE kiosk_heartbeats h SET received_at = v.received_at, interval_s = v.interval_s, last_test_alarm_at = v.last_test_alarm_at
        FROM unnest(${ids}::text[], ${at}::text[], ${interval}::int[], ${lastTest}::text[]) AS v(kiosk_id, received_at, interval_s, last_test_alarm_at)
        WHERE h.kiosk_id = v.kiosk_id`);
    }
  }

  async transitions(kioskId: string, limit: number): Promise<TransitionRecord[]> {
    const rows = await this.db.run((q) => q<{ kiosk_id: string; from_state: KioskStateName; to_state: KioskStateName; reason: string; components: string; at: string }[]>`
      SELECT kiosk_id, from_state, to_state, reason, components, at FROM kiosk_transitions WHERE kiosk_id = ${kioskId} ORDER BY id DESC LIMIT ${limit}`);
    return rows.map((r) => ({ kioskId: r.kiosk_id, from: r.from_state, to: r.to_state, reason: r.reason, components: parseComponents(r.components), at: r.at }));
  }

  async registryChangedSince(after: string | null): Promise<RegistryChange[]> {
    type Row = { kiosk_id: string; decommissioned_at: string | null; updated_at: string };
    // >= and not >: two updates in the same millisecond must not hide one another.
    const rows = await this.db.run((q) =>
      after === null
        ? q<Row[]>`SELECT kiosk_id, decommissioned_at, updated_at FROM kiosks ORDER BY updated_at, kiosk_id`
        : q<Row[]>`SELECT kiosk_id, decommissioned_at, updated_at FROM kiosks WHERE updated_at >= ${after} ORDER BY updated_at, kiosk_id`,
    );
    return rows.map((r) => ({ kioskId: r.kiosk_id, decommissionedAt: r.decommissioned_at, updatedAt: r.updated_at }));
  }

  async setDecommissioned(kioskId: string, decommissioned: boolean, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const result = await this.db.run((q) => q`
      UPDATE kiosks SET decommissioned_at = CASE WHEN ${decommissioned}::boolean THEN COALESCE(decommissioned_at, ${at}) END, updated_at = ${at}
      WHERE kiosk_id = ${kioskId}`);
    return result.count > 0;
  }

  pruneHistory(before: Date): Promise<{ opsEvents: number; transitions: number; testAlerts: number; rejected: number }> {
    const at = before.toISOString();
    return this.db.tx(async (tx) => {
      // Old, delivered test alarms, each kiosk's newest kept (supervision reads it), children first.
      const ids = (
        await tx<{ alert_id: string }[]>`
          SELECT a.alert_id FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id
          WHERE a.kind = 'test' AND a.received_at < ${at} AND d.delivered_at IS NOT NULL
            AND a.received_at < (SELECT MAX(b.received_at) FROM alerts b WHERE b.kiosk_id = a.kiosk_id AND b.kind = 'test')`
      ).map((r) => r.alert_id);
      for (const table of ["alert_events", "escalation_outbox", "dispatch_attempts", "dispatch_outbox"]) {
        await tx`DELETE FROM ${tx(table)} WHERE alert_id = ANY(${ids}::text[])`;
      }
      const testAlerts = (await tx`DELETE FROM alerts WHERE alert_id = ANY(${ids}::text[])`).count;
      const opsEvents = (await tx`DELETE FROM ops_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ${at}`).count;
      // A kiosk's newest transition is kept whatever its age: it is where its current state came from.
      const transitions = (await tx`DELETE FROM kiosk_transitions WHERE at < ${at} AND id NOT IN (SELECT MAX(id) FROM kiosk_transitions GROUP BY kiosk_id)`).count;
      const rejected = (await tx`DELETE FROM rejected_messages WHERE received_at < ${at}`).count;
      return { opsEvents, transitions, testAlerts, rejected };
    });
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

  async listOps(limit: number): Promise<OpsOutboxRow[]> {
    const rows = await this.db.run((q) => q<{ event_id: string; kiosk_id: string | null; type: OpsEventType; body: string; attempts: number; delivered_at: string | null; last_error: string | null }[]>`
      SELECT event_id, kiosk_id, type, body, attempts, delivered_at, last_error FROM ops_outbox ORDER BY seq DESC LIMIT ${limit}`);
    return rows.map((r) => ({ eventId: r.event_id, kioskId: r.kiosk_id, type: r.type, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at, lastError: r.last_error }));
  }

  async pendingOpsCount(): Promise<number> {
    const [row] = await this.db.run((q) => q<{ n: number }[]>`SELECT COUNT(*) AS n FROM ops_outbox WHERE delivered_at IS NULL`);
    return row?.n ?? 0;
  }

  async pendingDispatchCount(): Promise<number> {
    const [row] = await this.db.run((q) => q<{ n: number }[]>`SELECT COUNT(*) AS n FROM dispatch_outbox WHERE delivered_at IS NULL`);
    return row?.n ?? 0;
  }
}

/** The alarm-lifecycle tables (migration 6) behind AlarmStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type { AcknowledgeResult, AlarmStep, AlarmStepType, AlarmStore, EscalationOutboxRow, EscalationState, QueuedEscalation, UnacknowledgedAlarm } from "../alarm-store.js";
import { ONCE_STEPS } from "../alarm-store.js";
import type { AlertRow, Claim, ClaimHolder } from "../store.js";
import { SqliteEventOutbox } from "./event-outbox.js";

interface StepDbRow {
  alert_id: string;
  type: AlarmStepType;
  at: string;
  actor: string | null;
  detail: string;
}

const toStep = (r: StepDbRow): AlarmStep => ({ alertId: r.alert_id, type: r.type, at: r.at, actor: r.actor, detail: JSON.parse(r.detail) as Record<string, unknown> });

/** An alarm (alerts `a`) that still waits for someone: open and not acknowledged. */
const WAITING = "a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = a.alert_id AND e.type = 'acknowledged')";

export class SqliteAlarmStore implements AlarmStore {
  /** One alarm's escalation events go out in the order they were raised (#1 before #2, whatever the backoff). */
  private readonly escalations: SqliteEventOutbox;

  constructor(
    private readonly db: Database.Database,
    private readonly alertQuery: { select: string; toRow: (row: never) => AlertRow },
  ) {
    this.escalations = new SqliteEventOutbox(db, "escalation_outbox", "alert_id");
  }

  recordStep(step: AlarmStep): Promise<boolean> {
    return Promise.resolve(this.insertStep(step));
  }

  private insertStep(step: AlarmStep): boolean {
    const exists = this.db.prepare<[string], { n: number }>("SELECT 1 AS n FROM alerts WHERE alert_id = ?").get(step.alertId);
    if (exists === undefined) return false;
    // Once-only steps are guarded by a partial unique index: a second one is ignored.
    const verb = ONCE_STEPS.includes(step.type) ? "INSERT OR IGNORE" : "INSERT";
    const changes = this.db
      .prepare(`${verb} INTO alert_events (alert_id, type, at, actor, detail) VALUES (?, ?, ?, ?, ?)`)
      .run(step.alertId, step.type, step.at, step.actor, JSON.stringify(step.detail)).changes;
    return changes > 0;
  }

  acknowledge(alertId: string, by: string, at: Date): Promise<AcknowledgeResult> {
    const tx = this.db.transaction((): AcknowledgeResult => {
      const alert = this.db.prepare<[string], { closed_at: string | null }>("SELECT closed_at FROM alerts WHERE alert_id = ?").get(alertId);
      if (alert === undefined) return { result: "unknown" };
      const ack = this.db
        .prepare<[string], { actor: string | null; at: string }>("SELECT actor, at FROM alert_events WHERE alert_id = ? AND type = 'acknowledged'")
        .get(alertId);
      if (ack !== undefined) return { result: "already-acknowledged", by: ack.actor, at: ack.at };
      if (alert.closed_at !== null) return { result: "closed" };
      const iso = at.toISOString();
      this.insertStep({ alertId, type: "acknowledged", at: iso, actor: by, detail: {} });
      this.db.prepare("UPDATE alerts SET acknowledged_at = ? WHERE alert_id = ?").run(iso, alertId);
      return { result: "acknowledged", at: iso };
    });
    return Promise.resolve(tx.immediate());
  }

  steps(alertId: string): Promise<AlarmStep[]> {
    const rows = this.db.prepare<[string], StepDbRow>("SELECT alert_id, type, at, actor, detail FROM alert_events WHERE alert_id = ? ORDER BY id").all(alertId);
    return Promise.resolve(rows.map(toStep));
  }

  stepsFor(alertIds: readonly string[]): Promise<Map<string, AlarmStep[]>> {
    const out = new Map<string, AlarmStep[]>(alertIds.map((id) => [id, []]));
    if (alertIds.length === 0) return Promise.resolve(out);
    const rows = this.db
      .prepare<string[], StepDbRow>(`SELECT alert_id, type, at, actor, detail FROM alert_events WHERE alert_id IN (${alertIds.map(() => "?").join(",")}) ORDER BY id`)
      .all(...alertIds);
    for (const r of rows) out.get(r.alert_id)?.push(toStep(r));
    return Promise.resolve(out);
  }

  unacknowledged(alertIds?: readonly string[]): Promise<UnacknowledgedAlarm[]> {
    if (alertIds?.length === 0) return Promise.resolve([]);
    const among = alertIds === undefined ? "" : " AND a.alert_id IN (SELECT value FROM json_each(?))";
    const rows = this.db
      .prepare<string[], { alert_id: string; kiosk_id: string; received_at: string; escalations: number; last_escalated_at: string | null }>(
        `SELECT a.alert_id, a.kiosk_id, a.received_at,
           (SELECT COUNT(*) FROM alert_events e WHERE e.alert_id = a.alert_id AND e.type = 'escalated') AS escalations,
           (SELECT MAX(e.at) FROM alert_events e WHERE e.alert_id = a.alert_id AND e.type = 'escalated') AS last_escalated_at
         FROM alerts a
         WHERE a.kind = 'sos' AND ${WAITING}${among}
         ORDER BY a.received_at, a.alert_id`,
      )
      .all(...(alertIds === undefined ? [] : [JSON.stringify(alertIds)]));
    return Promise.resolve(
      rows.map((r) => ({ alertId: r.alert_id, kioskId: r.kiosk_id, receivedAt: r.received_at, escalations: r.escalations, lastEscalatedAt: r.last_escalated_at })),
    );
  }

  openSosAlarmIds(): Promise<string[]> {
    return Promise.resolve(this.db.prepare<[], { alert_id: string }>("SELECT alert_id FROM alerts WHERE closed_at IS NULL AND kind = 'sos'").all().map((r) => r.alert_id));
  }

  recordEscalation(e: QueuedEscalation): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const open = this.db
        .prepare<[string], { n: number }>(
          `SELECT 1 AS n FROM alerts a WHERE a.alert_id = ? AND ${WAITING}`,
        )
        .get(e.alertId);
      if (open === undefined) return false;
      // Raised already (another gateway of the cluster, the same alarm and number): not twice.
      if (this.db.prepare<[string], { n: number }>("SELECT 1 AS n FROM escalation_outbox WHERE event_id = ?").get(e.eventId) !== undefined) return false;
      this.insertStep({ alertId: e.alertId, type: "escalated", at: e.at, actor: "gateway", detail: { number: e.number, eventId: e.eventId } });
      this.db
        .prepare("INSERT INTO escalation_outbox (event_id, alert_id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)")
        .run(e.eventId, e.alertId, e.body, e.at, Date.parse(e.at));
      return true;
    });
    return Promise.resolve(tx.immediate());
  }

  escalationState(alertId: string, eventId: string): Promise<EscalationState> {
    const row = this.db
      .prepare<[string, string], { open: number; raised: number }>(
        `SELECT ${WAITING} AS open,
           EXISTS (SELECT 1 FROM escalation_outbox o WHERE o.event_id = ?) AS raised
         FROM alerts a WHERE a.alert_id = ?`,
      )
      .get(eventId, alertId);
    return Promise.resolve(row === undefined || row.open === 0 ? "ended" : row.raised === 1 ? "raised" : "due");
  }

  alertsOfKiosk(kioskId: string, limit: number): Promise<AlertRow[]> {
    const rows = this.db.prepare<[string, number], never>(`${this.alertQuery.select} WHERE a.kiosk_id = ? ORDER BY a.received_at DESC, a.alert_id LIMIT ?`).all(kioskId, limit);
    return Promise.resolve(rows.map((r) => this.alertQuery.toRow(r)));
  }

  setRegion(kioskId: string, region: string | null, now: Date): Promise<boolean> {
    const changes = this.db.prepare("UPDATE kiosks SET region = ?, updated_at = ? WHERE kiosk_id = ?").run(region, now.toISOString(), kioskId).changes;
    return Promise.resolve(changes > 0);
  }

  claimEscalations(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]> {
    return this.escalations.claim(dueBy, limit, claim);
  }

  nextEscalationAt(holder: ClaimHolder): Promise<Date | null> {
    return this.escalations.nextAt(holder);
  }

  recordEscalationAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    return this.escalations.recordAttempt(attempt, nextAttemptAt);
  }

  listEscalations(limit: number): Promise<EscalationOutboxRow[]> {
    const rows = this.db
      .prepare<[number], { event_id: string; alert_id: string; body: string; attempts: number; delivered_at: string | null }>(
        "SELECT event_id, alert_id, body, attempts, delivered_at FROM escalation_outbox ORDER BY rowid DESC LIMIT ?",
      )
      .all(limit);
    return Promise.resolve(rows.map((r) => ({ eventId: r.event_id, alertId: r.alert_id, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at })));
  }
}

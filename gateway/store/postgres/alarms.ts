/** The alarm-lifecycle tables behind AlarmStore on PostgreSQL (as sqlite/alarms.ts). */
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import { ONCE_STEPS, type AcknowledgeResult, type AlarmStep, type AlarmStepType, type AlarmStore, type EscalationOutboxRow, type EscalationState, type QueuedEscalation, type UnacknowledgedAlarm } from "../alarm-store.js";
import type { AlertRow, Claim, ClaimHolder } from "../store.js";
import type { PgClient, Q } from "./client.js";
import { PgEventOutbox } from "./event-outbox.js";
import { alertSelect, toAlertRow, type AlertDbRow } from "./rows.js";

interface StepDbRow {
  alert_id: string;
  type: AlarmStepType;
  at: string;
  actor: string | null;
  detail: string;
}

const toStep = (r: StepDbRow): AlarmStep => ({ alertId: r.alert_id, type: r.type, at: r.at, actor: r.actor, detail: JSON.parse(r.detail) as Record<string, unknown> });

/** Inserts a step; once-only steps are guarded by the partial unique index alert_events_once. */
async function insertStep(q: Q, step: AlarmStep): Promise<boolean> {
  const detail = JSON.stringify(step.detail);
  const result = ONCE_STEPS.includes(step.type)
    ? await q`INSERT INTO alert_events (alert_id, type, at, actor, detail)
              SELECT ${step.alertId}, ${step.type}, ${step.at}, ${step.actor}, ${detail} WHERE EXISTS (SELECT 1 FROM alerts WHERE alert_id = ${step.alertId})
              ON CONFLICT (alert_id, type) WHERE type IN ('pressed', 'received', 'delivered', 'acknowledged', 'closed') DO NOTHING`
    : await q`INSERT INTO alert_events (alert_id, type, at, actor, detail)
              SELECT ${step.alertId}, ${step.type}, ${step.at}, ${step.actor}, ${detail} WHERE EXISTS (SELECT 1 FROM alerts WHERE alert_id = ${step.alertId})`;
  return result.count > 0;
}

/**
 * An alarm (alerts `a`) that still waits for someone: open and not acknowledged. The row's own
 * acknowledged_at is what a statement that waited for the row's lock re-checks (PostgreSQL re-reads
 * the locked row once its holder commits, but reads other tables as of the statement's start); the
 * step is checked as well, for acknowledgements by nodes of a release before migration 21.
 */
const waiting = (q: Q) =>
  q`a.closed_at IS NULL AND a.acknowledged_at IS NULL AND NOT EXISTS (SELECT 1 FROM alert_events ev WHERE ev.alert_id = a.alert_id AND ev.type = 'acknowledged')`;

export class PgAlarmStore implements AlarmStore {
  private readonly escalations: PgEventOutbox;

  constructor(private readonly db: PgClient) {
    this.escalations = new PgEventOutbox(db, "escalation_outbox", "alert_id");
  }

  recordStep(step: AlarmStep): Promise<boolean> {
    return this.db.run((q) => insertStep(q, step));
  }

  acknowledge(alertId: string, by: string, at: Date): Promise<AcknowledgeResult> {
    return this.db.tx(async (tx): Promise<AcknowledgeResult> => {
      // The alert's row lock orders this against a close, an escalation or another acknowledgement.
      // NO KEY UPDATE, as every lock on an alert row here: it does not hold up the foreign-key checks
      // (KEY SHARE) of the alarm's other steps and dispatch attempts being written meanwhile.
      const [alert] = await tx<{ closed_at: string | null }[]>`SELECT closed_at FROM alerts WHERE alert_id = ${alertId} FOR NO KEY UPDATE`;
      if (alert === undefined) return { result: "unknown" };
      const [ack] = await tx<{ actor: string | null; at: string }[]>`SELECT actor, at FROM alert_events WHERE alert_id = ${alertId} AND type = 'acknowledged'`;
      if (ack !== undefined) return { result: "already-acknowledged", by: ack.actor, at: ack.at };
      if (alert.closed_at !== null) return { result: "closed" };
      const iso = at.toISOString();
      await insertStep(tx, { alertId, type: "acknowledged", at: iso, actor: by, detail: {} });
      await tx`UPDATE alerts SET acknowledged_at = ${iso} WHERE alert_id = ${alertId}`;
      return { result: "acknowledged", at: iso };
    });
  }

  async steps(alertId: string): Promise<AlarmStep[]> {
    return (await this.db.run((q) => q<StepDbRow[]>`SELECT alert_id, type, at, actor, detail FROM alert_events WHERE alert_id = ${alertId} ORDER BY id`)).map(toStep);
  }

  async stepsFor(alertIds: readonly string[]): Promise<Map<string, AlarmStep[]>> {
    const out = new Map<string, AlarmStep[]>(alertIds.map((id) => [id, []]));
    if (alertIds.length === 0) return out;
    const rows = await this.db.run((q) => q<StepDbRow[]>`SELECT alert_id, type, at, actor, detail FROM alert_events WHERE alert_id = ANY(${[...alertIds]}::text[]) ORDER BY id`);
    for (const r of rows) out.get(r.alert_id)?.push(toStep(r));
    return out;
  }

  async unacknowledged(alertIds?: readonly string[]): Promise<UnacknowledgedAlarm[]> {
    if (alertIds?.length === 0) return [];
    const rows = await this.db.run((q) => q<{ alert_id: string; kiosk_id: string; received_at: string; escalations: number; last_escalated_at: string | null }[]>`
      SELECT a.alert_id, a.kiosk_id, a.received_at,
        (SELECT COUNT(*) FROM alert_events e WHERE e.alert_id = a.alert_id AND e.type = 'escalated') AS escalations,
        (SELECT MAX(e.at) FROM alert_events e WHERE e.alert_id = a.alert_id AND e.type = 'escalated') AS last_escalated_at
      FROM alerts a
      WHERE a.kind = 'sos' AND ${waiting(q)}${alertIds === undefined ? q`` : q` AND a.alert_id = ANY(${[...alertIds]}::text[])`}
      ORDER BY a.received_at, a.alert_id`);
    return rows.map((r) => ({ alertId: r.alert_id, kioskId: r.kiosk_id, receivedAt: r.received_at, escalations: r.escalations, lastEscalatedAt: r.last_escalated_at }));
  }

  async openSosAlarmIds(): Promise<string[]> {
    // By the open alerts' partial index (alerts_open): the closed ones of years are never read.
    return (await this.db.run((q) => q<{ alert_id: string }[]>`SELECT alert_id FROM alerts WHERE closed_at IS NULL AND kind = 'sos'`)).map((r) => r.alert_id);
  }

  async recordEscalation(e: QueuedEscalation): Promise<boolean> {
    // One statement, one round trip (an escalation storm in a mass incident is thousands of these).
    // The alert row's lock orders two gateways raising the same one at once: the second waits for the
    // first's commit, then finds the event id taken (ON CONFLICT) and writes nothing, no second step.
    const detail = JSON.stringify({ number: e.number, eventId: e.eventId });
    const rows = await this.db.run((q) => q`
      WITH open AS (
        SELECT a.alert_id FROM alerts a WHERE a.alert_id = ${e.alertId} AND ${waiting(q)} FOR NO KEY UPDATE OF a),
      queued AS (
        INSERT INTO escalation_outbox (event_id, alert_id, body, created_at, next_attempt_at)
        SELECT ${e.eventId}, alert_id, ${e.body}, ${e.at}, ${Date.parse(e.at)} FROM open
        ON CONFLICT (event_id) DO NOTHING RETURNING alert_id)
      INSERT INTO alert_events (alert_id, type, at, actor, detail)
        SELECT alert_id, 'escalated', ${e.at}, 'gateway', ${detail} FROM queued
      RETURNING alert_id`);
    return rows.length > 0;
  }

  async escalationState(alertId: string, eventId: string): Promise<EscalationState> {
    const [row] = await this.db.run((q) => q<{ open: boolean; raised: boolean }[]>`
      SELECT ${waiting(q)} AS open,
        EXISTS (SELECT 1 FROM escalation_outbox o WHERE o.event_id = ${eventId}) AS raised
      FROM alerts a WHERE a.alert_id = ${alertId}`);
    return row === undefined || !row.open ? "ended" : row.raised ? "raised" : "due";
  }

  async alertsOfKiosk(kioskId: string, limit: number): Promise<AlertRow[]> {
    const rows = await this.db.run((q) => q<AlertDbRow[]>`${alertSelect(q)} WHERE a.kiosk_id = ${kioskId} ORDER BY a.received_at DESC, a.alert_id LIMIT ${limit}`);
    return rows.map(toAlertRow);
  }

  async setRegion(kioskId: string, region: string | null, now: Date): Promise<boolean> {
    return (await this.db.run((q) => q`UPDATE kiosks SET region = ${region}, updated_at = ${now.toISOString()} WHERE kiosk_id = ${kioskId}`)).count > 0;
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

  async listEscalations(limit: number): Promise<EscalationOutboxRow[]> {
    const rows = await this.db.run((q) => q<{ event_id: string; alert_id: string; body: string; attempts: number; delivered_at: string | null }[]>`
      SELECT event_id, alert_id, body, attempts, delivered_at FROM escalation_outbox ORDER BY seq DESC LIMIT ${limit}`);
    return rows.map((r) => ({ eventId: r.event_id, alertId: r.alert_id, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at }));
  }
}

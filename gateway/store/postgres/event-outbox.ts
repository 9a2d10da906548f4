/**
 * An outbox table of signed webhook events (ops_outbox, escalation_outbox), as on SQLite
 * (sqlite/event-outbox.ts): only a group's oldest undelivered event is due, so one kiosk's or one
 * alarm's events go out in the order they were queued. Due events are claimed with FOR UPDATE SKIP
 * LOCKED and a lease; `seq` stands for SQLite's rowid.
 */
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type { Claim, ClaimHolder } from "../store.js";
import type { PgClient, Q } from "./client.js";

export class PgEventOutbox {
  constructor(
    private readonly db: PgClient,
    private readonly table: "ops_outbox" | "escalation_outbox" | "dispatch_updates",
    private readonly groupColumn: "kiosk_id" | "alert_id",
    /** Dispatch updates: not before the alert itself has reached dispatch. */
    private readonly afterDeliveredAlert = false,
  ) {}

  private headOfGroup(q: Q) {
    // Written as = OR both NULL (the gateway's own ops events have no kiosk), not IS NOT DISTINCT FROM,
    // so that the pending-by-group index serves it.
    const group = q(this.groupColumn);
    const ready = this.afterDeliveredAlert ? q`AND EXISTS (SELECT 1 FROM dispatch_outbox d WHERE d.alert_id = o.alert_id AND d.delivered_at IS NOT NULL)` : q``;
    return q`NOT EXISTS (SELECT 1 FROM ${q(this.table)} p WHERE (p.${group} = o.${group} OR (p.${group} IS NULL AND o.${group} IS NULL))
                          AND p.delivered_at IS NULL AND p.seq < o.seq) ${ready}`;
  }

  async claim(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]> {
    const busy = [...(claim.busy ?? [])];
    const now = claim.now.getTime();
    const rows = await this.db.light((q) => q<{ event_id: string; body: string; attempts: number; next_attempt_at: number; seq: number }[]>`
      WITH c AS (
        SELECT o.event_id FROM ${q(this.table)} o
        WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ${dueBy.getTime()}
          AND (o.claim_until IS NULL OR o.claim_until <= ${now} OR o.claimed_by = ${claim.owner})
          AND NOT (o.event_id = ANY(${busy}::text[])) AND ${this.headOfGroup(q)}
        ORDER BY o.next_attempt_at, o.seq LIMIT ${limit}
        FOR UPDATE OF o SKIP LOCKED)
      UPDATE ${q(this.table)} t SET claimed_by = ${claim.owner}, claim_until = ${now + claim.leaseMs},
        attempts = CASE WHEN t.claimed_by IS NOT NULL AND t.claimed_by <> ${claim.owner} THEN t.attempts + 1 ELSE t.attempts END
      FROM c WHERE t.event_id = c.event_id
      RETURNING t.event_id, t.body, t.attempts, t.next_attempt_at, t.seq`);
    rows.sort((x, y) => x.next_attempt_at - y.next_attempt_at || x.seq - y.seq);
    return rows.map((r) => ({ id: r.event_id, body: r.body, attempts: r.attempts }));
  }

  async nextAt(holder: ClaimHolder): Promise<Date | null> {
    const busy = [...(holder.busy ?? [])];
    const [row] = await this.db.run((q) => q<{ at: number }[]>`
      SELECT CASE WHEN o.claimed_by IS NOT NULL AND o.claimed_by <> ${holder.owner} AND o.claim_until > o.next_attempt_at
                  THEN o.claim_until ELSE o.next_attempt_at END AS at
      FROM ${q(this.table)} o
      WHERE o.delivered_at IS NULL AND NOT (o.event_id = ANY(${busy}::text[])) AND ${this.headOfGroup(q)}
      ORDER BY at, o.seq LIMIT 1`);
    return row === undefined ? null : new Date(row.at);
  }

  async recordAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    const finishedAt = new Date(Date.parse(attempt.startedAt) + attempt.durationMs).toISOString();
    await this.db.run((q) => q`
      UPDATE ${q(this.table)} SET attempts = GREATEST(attempts, ${attempt.attempt}), last_error = ${attempt.error},
        delivered_at = CASE WHEN ${attempt.ok}::boolean THEN COALESCE(delivered_at, ${finishedAt}) ELSE delivered_at END,
        next_attempt_at = ${nextAttemptAt?.getTime() ?? null}, claimed_by = NULL, claim_until = NULL
      WHERE event_id = ${attempt.id}`);
  }
}

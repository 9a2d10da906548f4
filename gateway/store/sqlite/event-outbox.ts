/**
 * An outbox table of signed webhook events (ops_outbox, escalation_outbox: event_id, body, attempts,
 * next_attempt_at, delivered_at, last_error, claimed_by, claim_until), read and written the same way
 * for each. Events of one group (a kiosk's, an alarm's) go out in the order they were queued: only the
 * group's oldest undelivered event is due, so a backed-off older event can never arrive after a newer
 * one. The gateway's own ops events (kiosk_id NULL) are one group too (`IS`, not `=`). Due events are
 * claimed (claimed_by, claim_until) in the transaction that reads them.
 */
import type Database from "better-sqlite3";
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type { Claim, ClaimHolder } from "../store.js";
import { lightWrite } from "./light-write.js";

/**
 * A job taken over from another owner's lapsed claim may have been sent (its owner died before
 * recording the answer): that attempt counts, so the resend says it is one (X-Sos-Attempt 2, not 1
 * again). The first parameter is the claiming owner.
 */
export const COUNT_LAPSED = "attempts = CASE WHEN claimed_by IS NOT NULL AND claimed_by != ? THEN attempts + 1 ELSE attempts END";

export class SqliteEventOutbox {
  private readonly headOfGroup: string;

  constructor(
    private readonly db: Database.Database,
    private readonly table: "ops_outbox" | "escalation_outbox" | "dispatch_updates",
    groupColumn: "kiosk_id" | "alert_id",
    /** A further condition on `o` before a group's head is due (dispatch updates: the alert itself delivered). */
    readyWhen?: string,
  ) {
    this.headOfGroup = `NOT EXISTS (SELECT 1 FROM ${table} p WHERE p.${groupColumn} IS o.${groupColumn} AND p.delivered_at IS NULL AND p.rowid < o.rowid)${readyWhen === undefined ? "" : ` AND ${readyWhen}`}`;
  }

  claim(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]> {
    const busy = claim.busy ?? new Set<string>();
    const claimed = lightWrite(this.db, (): OutboxJob[] => {
      const rows = this.db
        .prepare<{ due: number; now: number; owner: string; n: number }, { event_id: string; body: string; attempts: number }>(
          `SELECT o.event_id, o.body, o.attempts FROM ${this.table} o
           WHERE o.delivered_at IS NULL AND o.next_attempt_at <= @due
             AND (o.claim_until IS NULL OR o.claim_until <= @now OR o.claimed_by = @owner) AND ${this.headOfGroup}
           ORDER BY o.next_attempt_at, o.rowid LIMIT @n`,
        )
        .all({ due: dueBy.getTime(), now: claim.now.getTime(), owner: claim.owner, n: limit + busy.size });
      const jobs = rows.filter((r) => !busy.has(r.event_id)).slice(0, limit);
      const hold = this.db.prepare<[string, string, number, string], { attempts: number }>(`UPDATE ${this.table} SET ${COUNT_LAPSED}, claimed_by = ?, claim_until = ? WHERE event_id = ? RETURNING attempts`);
      return jobs.map((r) => ({ id: r.event_id, body: r.body, attempts: hold.get(claim.owner, claim.owner, claim.now.getTime() + claim.leaseMs, r.event_id)?.attempts ?? r.attempts }));
    });
    return Promise.resolve(claimed);
  }

  nextAt(holder: ClaimHolder): Promise<Date | null> {
    const busy = holder.busy ?? new Set<string>();
    const rows = this.db
      .prepare<{ owner: string; n: number }, { event_id: string; at: number }>(
        `SELECT o.event_id, CASE WHEN o.claimed_by IS NOT NULL AND o.claimed_by != @owner AND o.claim_until > o.next_attempt_at
                                 THEN o.claim_until ELSE o.next_attempt_at END AS at
         FROM ${this.table} o WHERE o.delivered_at IS NULL AND ${this.headOfGroup} ORDER BY at, o.rowid LIMIT @n`,
      )
      .all({ owner: holder.owner, n: busy.size + 1 });
    const next = rows.find((r) => !busy.has(r.event_id));
    return Promise.resolve(next === undefined ? null : new Date(next.at));
  }

  recordAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    const finishedAt = new Date(Date.parse(attempt.startedAt) + attempt.durationMs).toISOString();
    this.db
      .prepare(
        `UPDATE ${this.table} SET attempts = MAX(attempts, @attempt), last_error = @error,
           delivered_at = CASE WHEN @ok THEN COALESCE(delivered_at, @finishedAt) ELSE delivered_at END,
           next_attempt_at = @next, claimed_by = NULL, claim_until = NULL
         WHERE event_id = @id`,
      )
      .run({ attempt: attempt.attempt, error: attempt.error, ok: attempt.ok ? 1 : 0, finishedAt, next: nextAttemptAt?.getTime() ?? null, id: attempt.id });
    return Promise.resolve();
  }
}

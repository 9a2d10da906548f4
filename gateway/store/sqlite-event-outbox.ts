/**
 * An outbox table of signed webhook events (ops_outbox, escalation_outbox: event_id, body, attempts,
 * next_attempt_at, delivered_at, last_error), read and written the same way for each. Events of one
 * group (a kiosk's, an alarm's) go out in the order they were queued: only the group's oldest
 * undelivered event is due, so a backed-off older event can never arrive after a newer one. The
 * gateway's own ops events (kiosk_id NULL) are one group too (`IS`, not `=`).
 */
import type Database from "better-sqlite3";
import type { OutboxAttempt, OutboxJob } from "../outbox/forwarder.js";

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

  due(now: Date, limit: number, busy: ReadonlySet<string>): Promise<OutboxJob[]> {
    const rows = this.db
      .prepare<[number, number], { event_id: string; body: string; attempts: number }>(
        `SELECT o.event_id, o.body, o.attempts FROM ${this.table} o
         WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ? AND ${this.headOfGroup}
         ORDER BY o.next_attempt_at, o.rowid LIMIT ?`,
      )
      .all(now.getTime(), limit + busy.size);
    return Promise.resolve(
      rows
        .filter((r) => !busy.has(r.event_id))
        .slice(0, limit)
        .map((r) => ({ id: r.event_id, body: r.body, attempts: r.attempts })),
    );
  }

  nextAt(busy: ReadonlySet<string>): Promise<Date | null> {
    const rows = this.db
      .prepare<[number], { event_id: string; next_attempt_at: number }>(
        `SELECT o.event_id, o.next_attempt_at FROM ${this.table} o
         WHERE o.delivered_at IS NULL AND ${this.headOfGroup} ORDER BY o.next_attempt_at, o.rowid LIMIT ?`,
      )
      .all(busy.size + 1);
    const next = rows.find((r) => !busy.has(r.event_id));
    return Promise.resolve(next === undefined ? null : new Date(next.next_attempt_at));
  }

  recordAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    const finishedAt = new Date(Date.parse(attempt.startedAt) + attempt.durationMs).toISOString();
    this.db
      .prepare(
        `UPDATE ${this.table} SET attempts = MAX(attempts, @attempt), last_error = @error,
           delivered_at = CASE WHEN @ok THEN COALESCE(delivered_at, @finishedAt) ELSE delivered_at END,
           next_attempt_at = @next
         WHERE event_id = @id`,
      )
      .run({ attempt: attempt.attempt, error: attempt.error, ok: attempt.ok ? 1 : 0, finishedAt, next: nextAttemptAt?.getTime() ?? null, id: attempt.id });
    return Promise.resolve();
  }
}

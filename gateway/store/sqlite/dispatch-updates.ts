/** The EIDO update outbox (migration 9) behind DispatchUpdateStore, on the shared event-outbox queries. */
import type Database from "better-sqlite3";
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type { DispatchUpdateRow, DispatchUpdateStore, QueuedDispatchUpdate } from "../dispatch-update-store.js";
import type { Claim, ClaimHolder } from "../store.js";
import { SqliteEventOutbox } from "./event-outbox.js";

export class SqliteDispatchUpdates implements DispatchUpdateStore {
  private readonly outbox: SqliteEventOutbox;

  constructor(private readonly db: Database.Database) {
    // Not before the incident itself has reached dispatch.
    this.outbox = new SqliteEventOutbox(db, "dispatch_updates", "alert_id", "EXISTS (SELECT 1 FROM dispatch_outbox d WHERE d.alert_id = o.alert_id AND d.delivered_at IS NOT NULL)");
  }

  dispatchBody(alertId: string): Promise<string | undefined> {
    return Promise.resolve(this.db.prepare<[string], { body: string }>("SELECT body FROM dispatch_outbox WHERE alert_id = ?").get(alertId)?.body);
  }

  queueUpdate(u: QueuedDispatchUpdate): Promise<boolean> {
    const changes = this.db
      .prepare("INSERT OR IGNORE INTO dispatch_updates (event_id, alert_id, step, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(u.eventId, u.alertId, u.step, u.body, u.at, Date.parse(u.at)).changes;
    return Promise.resolve(changes > 0);
  }

  claimUpdates(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]> {
    return this.outbox.claim(dueBy, limit, claim);
  }

  nextUpdateAt(holder: ClaimHolder): Promise<Date | null> {
    return this.outbox.nextAt(holder);
  }

  recordUpdateAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void> {
    return this.outbox.recordAttempt(attempt, nextAttemptAt);
  }

  updatesOf(alertId: string): Promise<DispatchUpdateRow[]> {
    const rows = this.db
      .prepare<[string], { event_id: string; alert_id: string; step: string; body: string; attempts: number; delivered_at: string | null }>(
        "SELECT event_id, alert_id, step, body, attempts, delivered_at FROM dispatch_updates WHERE alert_id = ? ORDER BY rowid",
      )
      .all(alertId);
    return Promise.resolve(rows.map((r) => ({ eventId: r.event_id, alertId: r.alert_id, step: r.step, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at })));
  }
}

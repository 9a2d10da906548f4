/** Main's later sides of the store on PostgreSQL (as sqlite/dispatch-updates.ts, sqlite/sms.ts; releases: postgres/releases.ts). */
import type { OutboxAttempt, OutboxJob } from "../../outbox/forwarder.js";
import type { DispatchUpdateRow, DispatchUpdateStore, QueuedDispatchUpdate } from "../dispatch-update-store.js";
import type { SmsArrival, SmsKeyRecord, SmsStore } from "../sms-store.js";
import type { Claim, ClaimHolder } from "../store.js";
import type { PgClient } from "./client.js";
import { PgEventOutbox } from "./event-outbox.js";

export class PgDispatchUpdates implements DispatchUpdateStore {
  private readonly outbox: PgEventOutbox;

  constructor(private readonly db: PgClient) {
    this.outbox = new PgEventOutbox(db, "dispatch_updates", "alert_id", true);
  }

  async dispatchBody(alertId: string): Promise<string | undefined> {
    const [row] = await this.db.run((q) => q<{ body: string }[]>`SELECT body FROM dispatch_outbox WHERE alert_id = ${alertId}`);
    return row?.body;
  }

  async queueUpdate(u: QueuedDispatchUpdate): Promise<boolean> {
    const result = await this.db.run((q) => q`
      INSERT INTO dispatch_updates (event_id, alert_id, step, body, created_at, next_attempt_at)
      VALUES (${u.eventId}, ${u.alertId}, ${u.step}, ${u.body}, ${u.at}, ${Date.parse(u.at)}) ON CONFLICT (event_id) DO NOTHING`);
    return result.count > 0;
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

  async updatesOf(alertId: string): Promise<DispatchUpdateRow[]> {
    const rows = await this.db.run((q) => q<{ event_id: string; alert_id: string; step: string; body: string; attempts: number; delivered_at: string | null }[]>`
      SELECT event_id, alert_id, step, body, attempts, delivered_at FROM dispatch_updates WHERE alert_id = ${alertId} ORDER BY seq`);
    return rows.map((r) => ({ eventId: r.event_id, alertId: r.alert_id, step: r.step, body: r.body, attempts: r.attempts, deliveredAt: r.delivered_at }));
  }
}

export class PgSmsStore implements SmsStore {
  constructor(private readonly db: PgClient) {}

  async putKey(kioskId: string, key: string, now: Date): Promise<void> {
    await this.db.run((q) => q`
      INSERT INTO kiosk_sms_keys (kiosk_id, sms_key, last_counter, issued_at) VALUES (${kioskId}, ${key}, 0, ${now.toISOString()})
      ON CONFLICT (kiosk_id) DO UPDATE SET sms_key = excluded.sms_key, last_counter = 0, issued_at = excluded.issued_at`);
  }

  async getKey(kioskId: string): Promise<SmsKeyRecord | undefined> {
    const [row] = await this.db.run((q) => q<{ kiosk_id: string; sms_key: string; last_counter: number; issued_at: string }[]>`
      SELECT kiosk_id, sms_key, last_counter, issued_at FROM kiosk_sms_keys WHERE kiosk_id = ${kioskId}`);
    return row === undefined ? undefined : { kioskId: row.kiosk_id, key: row.sms_key, lastCounter: row.last_counter, issuedAt: row.issued_at };
  }

  async advanceCounter(kioskId: string, counter: number): Promise<boolean> {
    return (await this.db.run((q) => q`UPDATE kiosk_sms_keys SET last_counter = ${counter} WHERE kiosk_id = ${kioskId} AND last_counter < ${counter}`)).count === 1;
  }

  async recordArrival(a: SmsArrival): Promise<void> {
    await this.db.run((q) => q`
      INSERT INTO sms_arrivals (alert_id, kiosk_id, sender, counter, received_at) VALUES (${a.alertId}, ${a.kioskId}, ${a.sender}, ${a.counter}, ${a.receivedAt})
      ON CONFLICT (alert_id) DO NOTHING`);
  }

  async arrivedBySms(alertIds: readonly string[]): Promise<Set<string>> {
    if (alertIds.length === 0) return new Set();
    const rows = await this.db.run((q) => q<{ alert_id: string }[]>`SELECT alert_id FROM sms_arrivals WHERE alert_id = ANY(${[...alertIds]}::text[])`);
    return new Set(rows.map((r) => r.alert_id));
  }
}

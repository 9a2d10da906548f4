/** The kiosk_sms_keys and sms_arrivals tables (migration 9) behind SmsStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
import type { SmsArrival, SmsKeyRecord, SmsStore } from "../sms-store.js";

interface KeyRow {
  kiosk_id: string;
  sms_key: string;
  last_counter: number;
  issued_at: string;
}

export class SqliteSmsStore implements SmsStore {
  constructor(private readonly db: Database.Database) {}

  putKey(kioskId: string, key: string, now: Date): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO kiosk_sms_keys (kiosk_id, sms_key, last_counter, issued_at) VALUES (?, ?, 0, ?)
         ON CONFLICT (kiosk_id) DO UPDATE SET sms_key = excluded.sms_key, last_counter = 0, issued_at = excluded.issued_at`,
      )
      .run(kioskId, key, now.toISOString());
    return Promise.resolve();
  }

  getKey(kioskId: string): Promise<SmsKeyRecord | undefined> {
    const row = this.db.prepare("SELECT kiosk_id, sms_key, last_counter, issued_at FROM kiosk_sms_keys WHERE kiosk_id = ?").get(kioskId) as KeyRow | undefined;
    return Promise.resolve(row === undefined ? undefined : { kioskId: row.kiosk_id, key: row.sms_key, lastCounter: row.last_counter, issuedAt: row.issued_at });
  }

  advanceCounter(kioskId: string, counter: number): Promise<boolean> {
    const changes = this.db.prepare("UPDATE kiosk_sms_keys SET last_counter = ? WHERE kiosk_id = ? AND last_counter < ?").run(counter, kioskId, counter).changes;
    return Promise.resolve(changes === 1);
  }

  recordArrival(a: SmsArrival): Promise<void> {
    this.db
      .prepare("INSERT INTO sms_arrivals (alert_id, kiosk_id, sender, counter, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING")
      .run(a.alertId, a.kioskId, a.sender, a.counter, a.receivedAt);
    return Promise.resolve();
  }

  arrivedBySms(alertIds: readonly string[]): Promise<Set<string>> {
    if (alertIds.length === 0) return Promise.resolve(new Set());
    const rows = this.db.prepare(`SELECT alert_id FROM sms_arrivals WHERE alert_id IN (${alertIds.map(() => "?").join(",")})`).all(...alertIds) as { alert_id: string }[];
    return Promise.resolve(new Set(rows.map((r) => r.alert_id)));
  }
}

/** The leases table (migration 14) behind LeaseStore. */
import type Database from "better-sqlite3";
import type { LeaseRecord, LeaseStore } from "../lease-store.js";

export class SqliteLeaseStore implements LeaseStore {
  constructor(private readonly db: Database.Database) {}

  acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    const row = this.db
      .prepare<{ name: string; holder: string; now: number; until: number; at: string }, { holder: string }>(
        `INSERT INTO leases (name, holder, until, acquired_at) VALUES (@name, @holder, @until, @at)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
           acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
         WHERE leases.until <= @now OR leases.holder = excluded.holder
         RETURNING holder`,
      )
      .get({ name, holder, now: now.getTime(), until: now.getTime() + ttlMs, at: now.toISOString() });
    return Promise.resolve(row?.holder === holder);
  }

  release(name: string, holder: string): Promise<void> {
    this.db.prepare("DELETE FROM leases WHERE name = ? AND holder = ?").run(name, holder);
    return Promise.resolve();
  }

  list(): Promise<LeaseRecord[]> {
    const rows = this.db.prepare<[], { name: string; holder: string; until: number; acquired_at: string }>("SELECT name, holder, until, acquired_at FROM leases ORDER BY name").all();
    return Promise.resolve(rows.map((r) => ({ name: r.name, holder: r.holder, until: r.until, acquiredAt: r.acquired_at })));
  }
}

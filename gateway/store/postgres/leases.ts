/** The leases table (migration 14) behind LeaseStore, as sqlite/leases.ts: one statement takes or renews. */
import type { LeaseRecord, LeaseStore } from "../lease-store.js";
import type { PgClient } from "./client.js";

export class PgLeaseStore implements LeaseStore {
  constructor(private readonly db: PgClient) {}

  async acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    const nowMs = now.getTime();
    const rows = await this.db.run(
      (q) => q<{ holder: string }[]>`
        INSERT INTO leases (name, holder, until, acquired_at) VALUES (${name}, ${holder}, ${nowMs + ttlMs}, ${now.toISOString()})
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
          acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
        WHERE leases.until <= ${nowMs} OR leases.holder = excluded.holder
        RETURNING holder`,
    );
    return rows[0]?.holder === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.run((q) => q`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`);
  }

  async list(): Promise<LeaseRecord[]> {
    const rows = await this.db.run((q) => q<{ name: string; holder: string; until: number; acquired_at: string }[]>`SELECT name, holder, until, acquired_at FROM leases ORDER BY name`);
    return rows.map((r) => ({ name: r.name, holder: r.holder, until: r.until, acquiredAt: r.acquired_at }));
  }
}

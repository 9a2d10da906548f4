/** The leases table (migration 14) behind LeaseStore. */
import type Database from "better-sqlite3";
import type { LeaseRecord, LeaseStore, NodeRecord } from "../lease-store.js";

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

  beat(n: NodeRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO cluster_nodes (holder, node_id, started_at, beat_at, connections) VALUES (@holder, @nodeId, @startedAt, @beatAt, @connections)
         ON CONFLICT (holder) DO UPDATE SET beat_at = excluded.beat_at, connections = excluded.connections`,
      )
      .run(n);
    return Promise.resolve();
  }

  leave(holder: string): Promise<void> {
    this.db.prepare("DELETE FROM cluster_nodes WHERE holder = ?").run(holder);
    return Promise.resolve();
  }

  nodes(): Promise<NodeRecord[]> {
    const rows = this.db
      .prepare<[], { node_id: string; holder: string; started_at: string; beat_at: number; connections: number }>("SELECT * FROM cluster_nodes ORDER BY beat_at DESC, holder")
      .all();
    return Promise.resolve(rows.map((r) => ({ nodeId: r.node_id, holder: r.holder, startedAt: r.started_at, beatAt: r.beat_at, connections: r.connections })));
  }
}

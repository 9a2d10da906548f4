/** The leases table (migration 14) behind LeaseStore. */
import type Database from "better-sqlite3";
import { type LeaseRecord, type LeaseStore, type NodeRecord, type NodeRow, nodeFromRow, type StoppedNode } from "../lease-store.js";

export class SqliteLeaseStore implements LeaseStore {
  constructor(private readonly db: Database.Database) {}

  acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    const row = this.db
      .prepare<{ name: string; holder: string; now: number; until: number; at: string }, { holder: string }>(
        `INSERT INTO leases (name, holder, until, acquired_at) VALUES (@name, @holder, @until, @at)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
           acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
         WHERE leases.until <= @now OR leases.holder = excluded.holder
           OR leases.holder IN (SELECT holder FROM cluster_nodes WHERE beat_at + dead_after_ms < @now)
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

  storeNow(): Promise<number | null> {
    return Promise.resolve(null);
  }

  beat(n: NodeRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO cluster_nodes (holder, node_id, started_at, beat_at, connections, dead_after_ms) VALUES (@holder, @nodeId, @startedAt, @beatAt, @connections, @deadAfterMs)
         ON CONFLICT (holder) DO UPDATE SET beat_at = excluded.beat_at, connections = excluded.connections, dead_after_ms = excluded.dead_after_ms`,
      )
      .run(n);
    return Promise.resolve();
  }

  leave(holder: string, stoppedAt: Date | null): Promise<void> {
    this.db.transaction(() => {
      if (stoppedAt !== null) {
        this.db
          .prepare(
            `INSERT INTO cluster_stopped (node_id, holder, started_at, stopped_at) SELECT node_id, holder, started_at, ? FROM cluster_nodes WHERE holder = ?
             ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, started_at = excluded.started_at, stopped_at = excluded.stopped_at`,
          )
          .run(stoppedAt.getTime(), holder);
      }
      this.db.prepare("DELETE FROM cluster_nodes WHERE holder = ?").run(holder);
    })();
    return Promise.resolve();
  }

  stoppedNodes(): Promise<StoppedNode[]> {
    const rows = this.db
      .prepare<[], { node_id: string; holder: string; started_at: string; stopped_at: number }>("SELECT * FROM cluster_stopped ORDER BY stopped_at DESC, node_id")
      .all();
    return Promise.resolve(rows.map((r) => ({ nodeId: r.node_id, holder: r.holder, startedAt: r.started_at, stoppedAt: Number(r.stopped_at) })));
  }

  retire(holders: readonly string[]): Promise<void> {
    const node = this.db.prepare("DELETE FROM cluster_nodes WHERE holder = ?");
    const leases = this.db.prepare("DELETE FROM leases WHERE holder = ?");
    this.db.transaction(() => {
      for (const holder of holders) {
        node.run(holder);
        leases.run(holder);
      }
    })();
    return Promise.resolve();
  }

  nodes(): Promise<NodeRecord[]> {
    const rows = this.db
      .prepare<[], NodeRow>("SELECT * FROM cluster_nodes ORDER BY beat_at DESC, holder")
      .all();
    return Promise.resolve(rows.map(nodeFromRow));
  }

  claimKiosks(kioskIds: readonly string[], holder: string, at: string): Promise<void> {
    const claim = this.db.prepare("INSERT INTO kiosk_owners (kiosk_id, holder, since) VALUES (?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE SET holder = excluded.holder, since = excluded.since");
    this.db.transaction(() => {
      for (const kioskId of kioskIds) claim.run(kioskId, holder, at);
    })();
    return Promise.resolve();
  }

  ownersOf(kioskIds: readonly string[]): Promise<{ kioskId: string; holder: string }[]> {
    const get = this.db.prepare<[string], { holder: string }>("SELECT holder FROM kiosk_owners WHERE kiosk_id = ?");
    return Promise.resolve([...new Set(kioskIds)].flatMap((kioskId) => {
      const row = get.get(kioskId);
      return row === undefined ? [] : [{ kioskId, holder: row.holder }];
    }));
  }

  takeOrphans(holder: string, aliveSince: number, at: string): Promise<string[]> {
    const rows = this.db.prepare<{ holder: string; aliveSince: number; at: string }, { kiosk_id: string }>(TAKE_ORPHANS).all({ holder, aliveSince, at });
    return Promise.resolve(rows.map((r) => r.kiosk_id).sort());
  }

  ownedCounts(): Promise<Record<string, number>> {
    const rows = this.db.prepare<[], { holder: string; n: number }>("SELECT holder, count(*) AS n FROM kiosk_owners GROUP BY holder").all();
    return Promise.resolve(Object.fromEntries(rows.map((r) => [r.holder, r.n])));
  }
}

/** The same statement as postgres/leases.ts: the conflict's WHERE is checked again on the locked row there. */
const LIVE = "SELECT holder FROM cluster_nodes WHERE beat_at >= @aliveSince";
const TAKE_ORPHANS = `
  INSERT INTO kiosk_owners (kiosk_id, holder, since)
  SELECT h.kiosk_id, @holder, @at FROM kiosk_health h LEFT JOIN kiosk_owners o ON o.kiosk_id = h.kiosk_id
  WHERE h.state IN ('online', 'degraded', 'offline') AND (o.kiosk_id IS NULL OR o.holder NOT IN (${LIVE}))
  ON CONFLICT (kiosk_id) DO UPDATE SET holder = excluded.holder, since = excluded.since WHERE kiosk_owners.holder NOT IN (${LIVE})
  RETURNING kiosk_id`;

/** The leases table (migration 14) behind LeaseStore, as sqlite/leases.ts: one statement takes or renews. */
import { type LeaseRecord, type LeaseStore, type NodeRecord, type NodeRow, nodeFromRow, type StoppedNode } from "../lease-store.js";
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
          OR leases.holder IN (SELECT holder FROM cluster_nodes WHERE beat_at + dead_after_ms < ${nowMs})
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

  async storeNow(): Promise<number | null> {
    const [row] = await this.db.run((q) => q<{ now: number }[]>`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`);
    return row === undefined ? null : Number(row.now);
  }

  async beat(n: NodeRecord): Promise<void> {
    await this.db.run(
      (q) => q`INSERT INTO cluster_nodes (holder, node_id, started_at, beat_at, connections, dead_after_ms)
               VALUES (${n.holder}, ${n.nodeId}, ${n.startedAt}, ${n.beatAt}, ${n.connections}, ${n.deadAfterMs})
               ON CONFLICT (holder) DO UPDATE SET beat_at = excluded.beat_at, connections = excluded.connections, dead_after_ms = excluded.dead_after_ms`,
    );
  }

  async leave(holder: string, stoppedAt: Date | null): Promise<void> {
    if (stoppedAt === null) {
      await this.db.run((q) => q`DELETE FROM cluster_nodes WHERE holder = ${holder}`);
      return;
    }
    await this.db.run(
      (q) => q`WITH gone AS (DELETE FROM cluster_nodes WHERE holder = ${holder} RETURNING node_id, holder, started_at)
               INSERT INTO cluster_stopped (node_id, holder, started_at, stopped_at) SELECT node_id, holder, started_at, ${stoppedAt.getTime()} FROM gone
               ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, started_at = excluded.started_at, stopped_at = excluded.stopped_at`,
    );
  }

  async stoppedNodes(): Promise<StoppedNode[]> {
    const rows = await this.db.run((q) => q<{ node_id: string; holder: string; started_at: string; stopped_at: string | number }[]>`SELECT * FROM cluster_stopped ORDER BY stopped_at DESC, node_id`);
    return rows.map((r) => ({ nodeId: r.node_id, holder: r.holder, startedAt: r.started_at, stoppedAt: Number(r.stopped_at) }));
  }

  async retire(holders: readonly string[]): Promise<void> {
    if (holders.length === 0) return;
    const list = [...holders];
    await this.db.tx(async (tx) => {
      await tx`DELETE FROM cluster_nodes WHERE holder = ANY(${list}::text[])`;
      await tx`DELETE FROM leases WHERE holder = ANY(${list}::text[])`;
    });
  }

  async nodes(): Promise<NodeRecord[]> {
    const rows = await this.db.run((q) => q<NodeRow[]>`SELECT * FROM cluster_nodes ORDER BY beat_at DESC, holder`);
    return rows.map(nodeFromRow);
  }

  async claimKiosks(kioskIds: readonly string[], holder: string, at: string): Promise<void> {
    // Each id once (a row may be updated once per statement), in one order on every node (no deadlock
    // between two nodes claiming overlapping sets).
    const ids = [...new Set(kioskIds)].sort();
    if (ids.length === 0) return;
    await this.db.run(
      (q) => q`INSERT INTO kiosk_owners (kiosk_id, holder, since) SELECT k, ${holder}, ${at} FROM unnest(${ids}::text[]) AS k
               ON CONFLICT (kiosk_id) DO UPDATE SET holder = excluded.holder, since = excluded.since`,
    );
  }

  async ownersOf(kioskIds: readonly string[]): Promise<{ kioskId: string; holder: string }[]> {
    if (kioskIds.length === 0) return [];
    const rows = await this.db.run((q) => q<{ kiosk_id: string; holder: string }[]>`SELECT kiosk_id, holder FROM kiosk_owners WHERE kiosk_id = ANY(${[...new Set(kioskIds)]}::text[])`);
    return rows.map((r) => ({ kioskId: r.kiosk_id, holder: r.holder }));
  }

  /** As sqlite/leases.ts; a second taker waits on the row the first wrote and finds its owner alive. */
  async takeOrphans(holder: string, aliveSince: number, at: string): Promise<string[]> {
    const rows = await this.db.run(
      (q) => q<{ kiosk_id: string }[]>`
        INSERT INTO kiosk_owners (kiosk_id, holder, since)
        SELECT h.kiosk_id, ${holder}, ${at} FROM kiosk_health h LEFT JOIN kiosk_owners o ON o.kiosk_id = h.kiosk_id
        WHERE h.state IN ('online', 'degraded', 'offline')
          AND (o.kiosk_id IS NULL OR o.holder NOT IN (SELECT holder FROM cluster_nodes WHERE beat_at >= ${aliveSince}))
        ON CONFLICT (kiosk_id) DO UPDATE SET holder = excluded.holder, since = excluded.since
          WHERE kiosk_owners.holder NOT IN (SELECT holder FROM cluster_nodes WHERE beat_at >= ${aliveSince})
        RETURNING kiosk_id`,
    );
    return rows.map((r) => r.kiosk_id).sort();
  }

  async ownedCounts(): Promise<Record<string, number>> {
    const rows = await this.db.run((q) => q<{ holder: string; n: number }[]>`SELECT holder, count(*)::int AS n FROM kiosk_owners GROUP BY holder`);
    return Object.fromEntries(rows.map((r) => [r.holder, r.n]));
  }
}

/**
 * Leases (migration 14) and the nodes' beats (migration 15): a named job that must run on one gateway process of a cluster at a time (the
 * daily history pruning, the rollout runner, …) is run by whoever holds its lease. A lease is taken
 * when it is free or has lapsed, renewed by its holder before it lapses, and released at a clean
 * stop; a holder that died leaves it to lapse, and another process takes it. A single gateway always
 * holds its own (gateway/cluster/singleton.ts asks "is this mine to run?").
 */

export interface LeaseRecord {
  readonly name: string;
  readonly holder: string;
  /** Epoch ms the lease lapses at unless renewed. */
  readonly until: number;
  /** When this holder took it (renewals keep it). */
  readonly acquiredAt: string;
}

/** A gateway process of the cluster, as it last said (a beat every few seconds; gone at a clean stop). */
export interface NodeRecord {
  /** Its node id (`--node-id`, or the broker id). */
  readonly nodeId: string;
  /** The process (host/pid/…): the holder its leases name. */
  readonly holder: string;
  readonly startedAt: string;
  /** Epoch ms of its last beat. */
  readonly beatAt: number;
  /** Its open MQTT connections (kiosks and operator pages) at that beat. */
  readonly connections: number;
  /** Its cluster.deadAfterMs: a node silent this long is dead to the others (`sos cluster status` says so). */
  readonly deadAfterMs: number;
}

/** A node's last clean stop (migration 20). */
export interface StoppedNode {
  readonly nodeId: string;
  /** The process that stopped. */
  readonly holder: string;
  readonly startedAt: string;
  /** Epoch ms. */
  readonly stoppedAt: number;
}

export interface LeaseStore {
  /**
   * Takes `name` for `holder` until now + ttlMs when it is free, lapsed, held by a process whose node
   * has gone silent (past the deadAfterMs it beat with: it died, and a long lease such as the daily
   * pruning's would otherwise wait a day), or already `holder`'s (a renewal); one statement, so two
   * processes cannot both take it. True when `holder` holds it now.
   */
  acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Gives it up (a clean stop), only if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
  /** Every lease, by name. */
  list(): Promise<LeaseRecord[]>;
  /** A node says it is alive (migration 15); one row per process. */
  beat(node: NodeRecord): Promise<void>;
  /**
   * A node stops: its row goes. `stoppedAt`: a clean stop of a node that was serving, kept (one per
   * node id: stoppedNodes); null for a process that gave up during its start (nothing to show).
   */
  leave(holder: string, stoppedAt: Date | null): Promise<void>;
  /** Each node id's last clean stop, newest first. */
  stoppedNodes(): Promise<StoppedNode[]>;
  /**
   * Processes known to be dead (a node id's earlier processes, gateway/cluster/node-id.ts): their rows
   * and the leases they hold go, so their jobs are taken at once and `sos cluster status` shows the
   * node once.
   */
  retire(holders: readonly string[]): Promise<void>;
  /** Every node that beat, newest beat first. */
  nodes(): Promise<NodeRecord[]>;
  /**
   * The store's own clock (epoch ms), which every node shares; null when the store is this process's
   * own file (SQLite: one node, one clock). Beats and leases are stamped by each node's clock: a node
   * whose clock is off takes the others for dead, or is taken for dead (cluster/clock-skew.ts).
   */
  storeNow(): Promise<number | null>;
  /**
   * Kiosk owners (migration 16): the process that supervises a kiosk. A kiosk's new connection makes
   * its node's process the owner, whoever owned it before. Several at once: the connections of a
   * reconnect storm are claimed in one statement.
   */
  claimKiosks(kioskIds: readonly string[], holder: string, at: string): Promise<void>;
  /** The processes that supervise these kiosks now, in one read (a kiosk with none is left out). */
  ownersOf(kioskIds: readonly string[]): Promise<{ kioskId: string; holder: string }[]>;
  /**
   * Takes for `holder` every kiosk that has been seen (online, degraded or offline) and that no live
   * process supervises: its owner has not beaten since `aliveSince` (epoch ms) or left, or it has no
   * owner. One statement: of two processes asking at once, each kiosk goes to one. Returns their ids.
   */
  takeOrphans(holder: string, aliveSince: number, at: string): Promise<string[]>;
  /** How many kiosks each process supervises. */
  ownedCounts(): Promise<Record<string, number>>;
}

/**
 * A node silent past its own deadAfterMs (sent with each beat) is dead to the others: its jobs and
 * kiosks are taken over (the stores' acquire says the same in SQL), `sos cluster status` marks it.
 */
export function isSilent(node: NodeRecord, now: number): boolean {
  return now - node.beatAt > node.deadAfterMs;
}

/** A cluster_nodes row, as both backends read it. */
export interface NodeRow {
  readonly node_id: string;
  readonly holder: string;
  readonly started_at: string;
  readonly beat_at: number;
  readonly connections: number;
  readonly dead_after_ms: number;
}

export function nodeFromRow(r: NodeRow): NodeRecord {
  return { nodeId: r.node_id, holder: r.holder, startedAt: r.started_at, beatAt: r.beat_at, connections: r.connections, deadAfterMs: r.dead_after_ms };
}

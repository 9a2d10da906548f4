/**
 * What a running cluster node keeps checking in the store's beats (cluster_nodes), once a beat: one
 * read of the nodes' rows (one per gateway process, a handful), next to the beat it writes anyway.
 *
 * Another live process beating under this node's id. claimNodeId (node-id.ts) refuses a second
 * process of a running node id at its start, but two processes started at the same moment both find
 * no beat and both run: each drops the other's routed messages as its own (routing.ts tells nodes
 * apart by their id), so an operator on one never sees the alarms of the kiosks on the other. Nothing
 * else says so: both are "ready". While it lasts it is logged (an error, once a minute, naming both
 * processes and the fix), named on /readyz's cluster line and counted (sos_cluster_node_id_duplicates);
 * `sos cluster status` marks both rows.
 *
 * This node's clock against the store's, at the same look (clock-skew.ts): a node whose clock is off
 * judges the others' beats wrongly, and is judged wrongly.
 *
 * On a routed node, the rows also go to heard-nodes.ts: a live node not heard over the routing (on
 * another Redis) is reported there, and named here on /readyz's cluster line.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { isSilent, type LeaseStore, type NodeRecord } from "../store/lease-store.js";
import { ClockSkew, SKEW_FIX } from "./clock-skew.js";
import { type HeardNodes, UNHEARD_FIX } from "./heard-nodes.js";
import { goneFromThisMachine } from "./node-id.js";
import type { RoutingState } from "./routing.js";

export interface NodeWatchOptions {
  readonly nodeId: string;
  /** This process (Singletons.holder). */
  readonly holder: string;
  /** How often the nodes' rows are read (the nodes' beat). */
  readonly beatMs: number;
}

export interface NodeWatchDeps {
  readonly leases: () => LeaseStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** A routed node: who is heard over the routing, compared with the rows read here. */
  readonly heard?: HeardNodes;
}

export interface NodeWatchState {
  /** Other live processes beating under this node's id (holders). */
  readonly duplicates: readonly string[];
  /** A routed node: live nodes not heard over the routing (node ids). */
  readonly unheard?: readonly string[];
  /** This node's clock minus the store's (ms), and whether that is past the limit; null before a look (or on SQLite). */
  readonly clockSkewMs: number | null;
  readonly clockOff: boolean;
}

/** A duplicate node id is said again this often while it lasts: an error an operator cannot miss, not one a beat. */
export const DUPLICATE_SAID_MS = 60_000;

const DUPLICATE_FIX = "give each node its own --node-id, or stop one";

export class NodeWatch {
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private duplicates: readonly string[] = [];
  private duplicateSaidAt: number | undefined;
  private readonly skew: ClockSkew;

  constructor(
    private readonly options: NodeWatchOptions,
    private readonly deps: NodeWatchDeps,
  ) {
    this.skew = new ClockSkew(deps.log);
  }

  /** Reads the nodes every beat from now on (the first read one beat from now: after this process's first beat). */
  start(): void {
    this.deps.heard?.start();
    this.timer = setInterval(() => void this.look(), this.options.beatMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.deps.heard?.stop();
  }

  state(): NodeWatchState {
    const heard = this.deps.heard;
    return { duplicates: this.duplicates, ...(heard === undefined ? {} : { unheard: heard.state() }), clockSkewMs: this.skew.ms, clockOff: this.skew.isOff };
  }

  /** One read of the store's beats; a store that does not answer is asked again at the next beat. */
  async look(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const before = this.deps.clock.now().getTime();
      const storeNow = await this.deps.leases().storeNow();
      this.skew.judge(before, storeNow, this.deps.clock.now().getTime());
      const nodes = await this.deps.leases().nodes();
      const now = this.deps.clock.now().getTime();
      this.check(nodes, now);
      this.deps.heard?.look(nodes, now);
    } catch (err) {
      this.deps.log.debug({ err }, "could not read the nodes' beats: read again at the next beat");
    } finally {
      this.reading = false;
    }
  }

  /** What the rows say now: another live process of this node id, said as it starts, once a minute while it lasts, and when it ends. */
  check(nodes: readonly NodeRecord[], now: number): void {
    const { nodeId, holder } = this.options;
    // A silent row, or one whose pid is gone from this machine, is a process that died: not a twin.
    const twins = nodes.filter((n) => n.nodeId === nodeId && n.holder !== holder && !isSilent(n, now) && !goneFromThisMachine(n.holder)).map((n) => n.holder);
    const had = this.duplicates.length > 0;
    this.duplicates = twins;
    if (twins.length === 0) {
      if (had) this.deps.log.warn({ nodeId, holder }, "no other gateway process runs with this node id any more");
      this.duplicateSaidAt = undefined;
      return;
    }
    if (this.duplicateSaidAt !== undefined && now - this.duplicateSaidAt < DUPLICATE_SAID_MS) return;
    this.duplicateSaidAt = now;
    this.deps.log.error(
      { nodeId, holder, others: twins },
      `another gateway process runs with this node id: each drops the other's routed MQTT messages as its own, so operators on one never get the alarms and calls of the kiosks on the other: ${DUPLICATE_FIX}`,
    );
  }
}

/**
 * /readyz's cluster line: the routing, then what the watch found. Reported, never a readiness
 * failure: the node still serves its own kiosks and pages. No line on a node with neither.
 */
export function clusterReadiness(nodeId: string, routing: RoutingState | undefined, watch: NodeWatchState | undefined): { cluster?: string } {
  const parts: string[] = [];
  if (routing !== undefined) parts.push(routing.up ? "routing up" : "routing down: messages to other nodes are not routed (Redis unreachable)");
  if (watch !== undefined && watch.duplicates.length > 0) parts.push(`duplicate node id: ${nodeId} also runs as ${watch.duplicates.join(", ")} (${DUPLICATE_FIX})`);
  if (watch?.clockOff === true && watch.clockSkewMs !== null) parts.push(`clock ${(watch.clockSkewMs / 1_000).toFixed(1)} s off the store's (${SKEW_FIX})`);
  if (watch?.unheard !== undefined && watch.unheard.length > 0) parts.push(`not heard over the routing, though beating in the store: ${watch.unheard.join(", ")} (${UNHEARD_FIX})`);
  return parts.length === 0 ? {} : { cluster: parts.join("; ") };
}

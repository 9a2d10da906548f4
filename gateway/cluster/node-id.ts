/**
 * One running process per node id. Two processes with one `--node-id` would each drop the other's
 * routed messages as their own (routing.ts tells nodes apart by id) and show as one node twice in
 * `sos cluster status`. At its start a cluster node looks at the store's beats (cluster_nodes) for
 * other processes of its id:
 * - one silent past its deadAfterMs, or on this machine with its pid gone, is a predecessor that died
 *   (a crash, then systemd's restart): retired at once, its row and leases (so its jobs are taken now);
 * - one still beating may be a predecessor that died a moment ago: the node waits for it to fall silent,
 *   up to its deadAfterMs and a beat; if it beats on, it is a live duplicate, and this start is refused
 *   on one line naming it.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { isSilent, type LeaseStore } from "../store/lease-store.js";

export interface NodeIdOptions {
  readonly nodeId: string;
  /** This process (its leases' holder). */
  readonly holder: string;
  readonly beatMs: number;
  readonly deadAfterMs: number;
}

/** A holder is `${nodeId}/${hostname}/${pid}/…` (main.ts, store/claims.ts): whether that process is gone from this machine. */
export function goneFromThisMachine(holder: string): boolean {
  const [, host, pidText] = holder.split("/");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Resolves once this process may run as `nodeId` (its dead predecessors retired); rejects with a one-line SosError for a live duplicate. */
export async function claimNodeId(leases: LeaseStore, options: NodeIdOptions, clock: Clock, log: Logger): Promise<void> {
  const { nodeId, holder } = options;
  // Real time: the wait must end whatever clock the beats are stamped with (tests may fake it).
  const deadline = Date.now() + options.deadAfterMs + options.beatMs;
  let waitSaid = false;
  for (;;) {
    const now = clock.now().getTime();
    const others = (await leases.nodes()).filter((n) => n.nodeId === nodeId && n.holder !== holder);
    const dead = others.filter((n) => isSilent(n, now) || goneFromThisMachine(n.holder));
    const live = others.filter((n) => !dead.includes(n));
    if (dead.length > 0) {
      await leases.retire(dead.map((n) => n.holder));
      log.info({ nodeId, retired: dead.map((n) => n.holder) }, "earlier processes of this node id retired (they died): their jobs are taken over now");
    }
    const first = live[0];
    if (first === undefined) return;
    if (Date.now() >= deadline) {
      throw new SosError(
        ErrorCode.ConfigInvalid,
        `node id ${nodeId} is in use: another gateway process (${first.holder}, started ${first.startedAt}) still beats in this store, ${Math.round((now - first.beatAt) / 1_000)} s ago: give this node its own --node-id, or stop that process first`,
      );
    }
    if (!waitSaid) {
      waitSaid = true;
      log.warn({ nodeId, other: first.holder, waitMs: deadline - Date.now() }, "another process of this node id beat recently: waiting for it to fall silent (a predecessor that died) before starting");
    }
    await new Promise((r) => setTimeout(r, Math.min(options.beatMs, 1_000)));
  }
}

/**
 * A gateway on a shared store without `--cluster` (a unit missing SOS_CLUSTER_URL, say) serves its own
 * kiosks, but routes no MQTT to the other nodes: its kiosks' calls and its pages do not reach theirs.
 * Said once at start when other gateways beat in the store; returns their node ids.
 */
export async function warnIfUnrouted(leases: LeaseStore, holder: string, clock: Clock, log: Logger): Promise<string[]> {
  const now = clock.now().getTime();
  const others = [...new Set((await leases.nodes()).filter((n) => n.holder !== holder && !isSilent(n, now)).map((n) => n.nodeId))];
  if (others.length > 0) {
    log.warn(
      { others },
      "other gateways beat in this store, but this one routes no MQTT to them (no --cluster): its kiosks' calls and its pages do not reach theirs; start it with --cluster redis://… and a --node-id of its own, as they run",
    );
  }
  return others;
}

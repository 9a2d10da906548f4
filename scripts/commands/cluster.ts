/**
 * `sos cluster status`: the gateway nodes that beat in the store (last beat, connections, the kiosks
 * each supervises — gateway/cluster/kiosk-owners.ts — and those left to a node that stopped), and
 * which runs each cluster-wide job (the leases in the store, gateway/cluster/singleton.ts), since
 * when, and until when its lease runs unless renewed, in hours and minutes (scripts/lib/duration.ts).
 * A lease past its time is shown as lapsed: its holder stopped renewing (died), and the next gateway
 * to ask takes it. A lease whose holder's node beats no more is marked so: the next gateway to run
 * its job takes it. A silent node's connections are its last word, not now's: shown as such. A node
 * that stopped cleanly (an upgrade, a restart) is shown as stopped, since when, until a process of
 * its id beats again (for a week at most: a node retired for good leaves the list). Live processes
 * sharing one node id are marked as a duplicate node id (each drops the other's routed messages as its
 * own: gateway/cluster/node-watch.ts).
 */
import { isSilent, type LeaseRecord, type LeaseStore, type NodeRecord, type StoppedNode } from "../../gateway/store/lease-store.js";
import { ago, formatDuration } from "../lib/duration.js";
import { isOlderSchema, openCliStore, type StoreOptions } from "../lib/store.js";
import { formatTable } from "../lib/table.js";
import { terminalSafeJson } from "../lib/terminal.js";

/**
 * The process holding a lease beats no more: its node row is silent past its deadAfterMs. The next
 * gateway to run the job takes the lease from it (store/lease-store.ts). A holder without a row is
 * not judged: a process takes its first leases a moment before its first beat is stored.
 */
const holderSilent = (l: LeaseRecord, nodes: readonly NodeRecord[], now: number): boolean => {
  const node = nodes.find((n) => n.holder === l.holder);
  return node !== undefined && isSilent(node, now);
};

/** Clean stops are shown this long (a node id retired for good drops off the list after it). */
const STOPS_SHOWN_MS = 7 * 24 * 60 * 60 * 1_000;

/** A stop shown: recent, and no process of that node id has beaten since (one started again beats at once). */
const stillStopped = (stops: readonly StoppedNode[], nodes: readonly NodeRecord[], now: number): StoppedNode[] =>
  stops.filter((s) => now - s.stoppedAt <= STOPS_SHOWN_MS && !nodes.some((n) => n.nodeId === s.nodeId));

/** The clean stops, or none in a store from before migration 20 (no gateway of this version has started on it yet). */
async function stopsIn(leases: LeaseStore): Promise<StoppedNode[]> {
  try {
    return await leases.stoppedNodes();
  } catch (err) {
    if (isOlderSchema(err)) return [];
    throw err;
  }
}

/**
 * Live processes whose node id another live process also beats under: two started at the same moment
 * both run (gateway/cluster/node-watch.ts). A silent row is a process that died, not a twin.
 */
function duplicateHolders(nodes: readonly NodeRecord[], now: number): Set<string> {
  const live = nodes.filter((n) => !isSilent(n, now));
  return new Set(live.filter((n) => live.some((o) => o.nodeId === n.nodeId && o.holder !== n.holder)).map((n) => n.holder));
}

const leaseEnds = (l: LeaseRecord, now: number): string => (l.until <= now ? `lapsed ${ago(l.until, now)}` : `in ${formatDuration(l.until - now)}`);

export async function runStatus(opts: StoreOptions & { json?: unknown }): Promise<void> {
  const store = await openCliStore(opts, { readonly: true, mustExist: true });
  try {
    const [leases, nodes, owned] = [await store.leases.list(), await store.leases.nodes(), await store.leases.ownedCounts()];
    const now = Date.now();
    const stopped = stillStopped(await stopsIn(store.leases), nodes, now);
    const twins = duplicateHolders(nodes, now);
    // Kiosks whose supervisor stopped (no row) or went silent: a running node takes them over within a few beats.
    const orphaned = Object.entries(owned)
      .filter(([holder]) => {
        const node = nodes.find((n) => n.holder === holder);
        return node === undefined || isSilent(node, now);
      })
      .reduce((sum, [, n]) => sum + n, 0);
    if (opts.json === true) {
      const json = {
        nodes: nodes.map((n) => ({ ...n, beatAt: new Date(n.beatAt).toISOString(), silent: isSilent(n, now), duplicateNodeId: twins.has(n.holder), kiosks: owned[n.holder] ?? 0 })),
        stoppedNodes: stopped.map((n) => ({ ...n, stoppedAt: new Date(n.stoppedAt).toISOString() })),
        kiosksOfStoppedNodes: orphaned,
        jobs: leases.map((l) => ({ ...l, until: new Date(l.until).toISOString(), lapsed: l.until <= now, holderSilent: holderSilent(l, nodes, now) })),
      };
      process.stdout.write(`${terminalSafeJson(json)}\n`);
      return;
    }
    if (nodes.length === 0) process.stdout.write("no gateway is running (none beats in this store)\n");
    if (nodes.length > 0 || stopped.length > 0) {
      const rows = nodes.map((n) =>
        isSilent(n, now)
          ? [n.nodeId, n.holder, n.startedAt, `${ago(n.beatAt, now)} (silent: stopped or dead)`, `- (${n.connections} at its last beat)`, String(owned[n.holder] ?? 0)]
          : [twins.has(n.holder) ? `${n.nodeId} (duplicate node id)` : n.nodeId, n.holder, n.startedAt, ago(n.beatAt, now), String(n.connections), String(owned[n.holder] ?? 0)],
      );
      for (const n of stopped) rows.push([n.nodeId, n.holder, n.startedAt, `stopped cleanly ${ago(n.stoppedAt, now)}`, "-", "-"]);
      process.stdout.write(`${formatTable(["NODE", "PROCESS", "STARTED", "LAST BEAT", "CONNECTIONS", "KIOSKS"], rows)}\n`);
    }
    for (const nodeId of new Set(nodes.filter((n) => twins.has(n.holder)).map((n) => n.nodeId))) {
      const holders = nodes.filter((n) => n.nodeId === nodeId && twins.has(n.holder)).map((n) => n.holder);
      process.stdout.write(
        `node id ${nodeId} is run by ${holders.length} live processes (${holders.join(", ")}): each drops the other's routed messages as its own, so operators on one miss the alarms and calls of the kiosks on the other: give each node its own --node-id, or stop one\n`,
      );
    }
    if (orphaned > 0) process.stdout.write(`${orphaned} kiosk(s) supervised by a gateway that stopped or went silent: a running node takes them over within a few beats\n`);
    process.stdout.write("\n");
    if (leases.length === 0) {
      process.stdout.write("no gateway holds a cluster job now (a gateway takes each at its next run; one that stops cleanly gives its jobs up)\n");
      return;
    }
    const rows = leases.map((l) => [l.name, holderSilent(l, nodes, now) ? `${l.holder} (holder silent: stopped or dead)` : l.holder, l.acquiredAt, leaseEnds(l, now)]);
    process.stdout.write(`${formatTable(["JOB", "HELD BY", "SINCE", "LEASE ENDS"], rows)}\n`);
    if (leases.some((l) => l.until > now && holderSilent(l, nodes, now))) {
      process.stdout.write("a job whose holder is silent is taken over by the next gateway that runs it, without waiting for its lease to end\n");
    }
  } finally {
    await store.close();
  }
}

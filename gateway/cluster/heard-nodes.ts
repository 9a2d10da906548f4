/**
 * Whether the nodes beating in the store are the nodes this one routes with. A node whose `--cluster`
 * names another Redis (or none) splits the routing: operators on either side never get the alarms
 * and calls of the other side's kiosks, while both say "routing up". So every node announces itself
 * on the routing bus at each beat (node id and process: routing.ts NODES_TOPIC, never delivered to
 * an MQTT client), and compares who it hears with the processes beating live in the store (read at
 * each beat by node-watch.ts).
 *
 * A live process is "not heard" once its own beats in the store have gone on, unheard, for 3 of this
 * node's beats (or its deadAfterMs, if longer: a node beating more slowly announces more slowly),
 * measured on its clock alone: a node that has just died stops beating as it stops announcing, so it
 * is never reported on its way to being called dead. Only while this node's routing is up, and has
 * been for that long: while it is down this node hears no one, which its routing already reports.
 * Logged once when it starts and once when it ends (heard again, or stopped beating), named on
 * /readyz's cluster line and counted in sos_cluster_nodes_unheard.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { isSilent, type NodeRecord } from "../store/lease-store.js";
import type { Announcement } from "./routing.js";

/** What it needs of the routing (ClusterRouting). */
export interface AnnouncementBus {
  announce(holder: string): void;
  onAnnouncement(listener: (from: Announcement) => void): void;
  state(): { readonly up: boolean };
  /** Where it routes (no password), for the log line. */
  readonly where: string;
}

export interface HeardNodesOptions {
  /** This process (Singletons.holder). */
  readonly holder: string;
  /** How often it announces itself, and how often the store's beats are read. */
  readonly beatMs: number;
}

export interface HeardNodesDeps {
  readonly bus: AnnouncementBus;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Beats that pass unheard before a live node is reported. */
export const UNHEARD_BEATS = 3;

export const UNHEARD_FIX = "every node's --cluster must name the same Redis";

export class HeardNodes {
  private timer: NodeJS.Timeout | undefined;
  /** holder → when this node last heard it (this node's clock). */
  private readonly heardAt = new Map<string, number>();
  /** holder → its last beat in the store (its clock) as of the last look it had been heard since the look before. */
  private readonly baseline = new Map<string, number>();
  /** holder → the node, for those reported not heard now. */
  private unheard = new Map<string, NodeRecord>();
  private lastLookAt = Number.NEGATIVE_INFINITY;
  private upSince: number | undefined;

  constructor(
    private readonly options: HeardNodesOptions,
    private readonly deps: HeardNodesDeps,
  ) {}

  /** Listens, and announces this process every beat from now on. */
  start(): void {
    this.deps.bus.onAnnouncement((from) => {
      if (from.holder !== this.options.holder) this.heardAt.set(from.holder, this.deps.clock.now().getTime());
    });
    const announce = (): void => this.deps.bus.announce(this.options.holder);
    announce();
    this.timer = setInterval(announce, this.options.beatMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The live nodes not heard now (node ids). */
  state(): readonly string[] {
    return [...new Set([...this.unheard.values()].map((n) => n.nodeId))].sort();
  }

  /** Compares who was heard with the nodes' rows (read at each beat); says what starts and ends. */
  look(nodes: readonly NodeRecord[], now: number): void {
    const since = this.lastLookAt;
    this.lastLookAt = now;
    if (!this.deps.bus.state().up) {
      // Nothing heard proves anything while this node's own routing is down: judged afresh once it is back.
      this.upSince = undefined;
      this.baseline.clear();
      return;
    }
    this.upSince ??= now;
    const limitFor = (n: NodeRecord): number => Math.max(UNHEARD_BEATS * this.options.beatMs, n.deadAfterMs);
    const live = nodes.filter((n) => n.holder !== this.options.holder && !isSilent(n, now));
    const unheard = new Map<string, NodeRecord>();
    for (const n of live) {
      const was = this.unheard.has(n.holder);
      const base = this.baseline.get(n.holder);
      if ((this.heardAt.get(n.holder) ?? Number.NEGATIVE_INFINITY) > since) {
        this.baseline.set(n.holder, n.beatAt);
        if (was) this.deps.log.warn({ node: n.nodeId, holder: n.holder }, "gateway node heard over the cluster routing again");
        continue;
      }
      if (base === undefined) this.baseline.set(n.holder, n.beatAt);
      const judged = now - this.upSince >= limitFor(n) && base !== undefined && n.beatAt - base >= limitFor(n);
      if (!was && !judged) continue;
      unheard.set(n.holder, n);
      if (!was) {
        this.deps.log.warn(
          { node: n.nodeId, holder: n.holder, redis: this.deps.bus.where, lastHeardAt: this.heardAtIso(n.holder) },
          `gateway node beats in the store but is not heard over the cluster routing: it routes through another Redis (or none), so operators here never get the alarms and calls of its kiosks, nor its operators those of ours: ${UNHEARD_FIX}`,
        );
      }
    }
    for (const [holder, n] of this.unheard) {
      if (!live.some((l) => l.holder === holder)) this.deps.log.info({ node: n.nodeId, holder }, "gateway node not heard over the cluster routing stopped beating: no longer reported");
    }
    // Rows gone (a clean stop, a retired process) take their bookkeeping with them.
    for (const map of [this.heardAt, this.baseline]) for (const holder of map.keys()) if (!live.some((l) => l.holder === holder)) map.delete(holder);
    this.unheard = unheard;
  }

  private heardAtIso(holder: string): string | null {
    const at = this.heardAt.get(holder);
    return at === undefined ? null : new Date(at).toISOString();
  }
}

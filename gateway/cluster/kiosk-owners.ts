/**
 * Which gateway process of a cluster supervises each kiosk (migration 16, store/lease-store.ts):
 * - a kiosk's connection makes its node's process the owner (claim), whoever owned it before;
 * - a process asks before deciding that a kiosk went away (stillMine): a kiosk that moved to
 *   another node is released, never called offline by the node it left (its old connection
 *   closing there, its last will, its heartbeats stopping there);
 * - every beat, each process takes the seen kiosks whose owner stopped beating (died, or stopped
 *   cleanly and left) and that have not connected anywhere since: they go offline on the usual
 *   timeouts from their last stored heartbeat, once (one taker per kiosk, by the store's
 *   statement), and an offline kiosk's reminders go on from the new owner on the same grid;
 * - a process that could not look for a while (its store out, or itself stalled) judges no other
 *   node by the beats that nobody could write meanwhile: that time is not counted as their silence,
 *   so after an outage of the store every node gets deadAfterMs from its own recovery to beat again;
 * - each look also asks whose the kiosks it holds offline are (and, just after such a blind spell,
 *   all it holds): a kiosk the store gives to another process is let go here, so the nodes' counts
 *   do not overlap, and a heartbeat here claims it back and corrects its stored state.
 */
import type DataLoader from "dataloader";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { batchedLookup, MAX_BATCH } from "../store/batched-lookup.js";
import type { HealthStore, KioskHealthRow } from "../store/health-store.js";
import type { LeaseStore } from "../store/lease-store.js";
import type { Ownership } from "../supervision/supervisor.js";

export interface KioskOwnersOptions {
  /** This process (Singletons.holder): the owner name stored. */
  readonly holder: string;
  /** How often orphans are looked for (the nodes' beat). */
  readonly everyMs: number;
  /** A process whose last beat is older than this is dead: its kiosks are taken over. */
  readonly deadAfterMs: number;
  /** A kiosk whose connection closed has this long to connect again, anywhere, before it is offline. */
  readonly moveGraceMs: number;
}

export interface KioskOwnersDeps {
  readonly leases: () => LeaseStore;
  readonly health: () => HealthStore;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The supervision the owners work for (supervisor.ts). */
export interface Supervised {
  /** Takes over a kiosk whose node stopped beating, from its stored state. */
  adopt(row: KioskHealthRow): void;
  /** The kiosks this process supervises; `all` false: only those it holds offline (no connection here tells when they go). */
  supervised(all: boolean): string[];
  /** The store names another process as these kiosks' supervisor: they are let go here. */
  lost(kioskIds: readonly string[]): void;
}

/** The first claim waits this long for others (a storm's connections come a few milliseconds apart). */
const CLAIM_WINDOW_MS = 10;

export class KioskOwners implements Ownership {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** When the last look succeeded: a longer gap than a beat or two is time this process was blind. */
  private lastLookAt: number | undefined;
  /** Time this process was blind (`ms`, ended at `until`), not counted as the others' silence for deadAfterMs after. */
  private blind: { until: number; ms: number } | undefined;
  /** kioskId → its stored state, for the claims of a window: one statement claims them, one reads them. */
  private readonly claims: DataLoader<string, KioskHealthRow | undefined>;
  /** kioskId → its owner, for the "still mine?" questions of a window (a fleet dropping at once): one read. */
  private readonly owners: DataLoader<string, { kioskId: string; holder: string } | undefined>;

  constructor(
    private readonly options: KioskOwnersOptions,
    private readonly deps: KioskOwnersDeps,
  ) {
    this.claims = batchedLookup(
      async (kioskIds) => {
        const claimed = deps.leases().claimKiosks(kioskIds, options.holder, deps.clock.now().toISOString());
        // The state read does not depend on the claim: both in flight at once.
        const [, rows] = await Promise.all([claimed, deps.health().getHealthOf(kioskIds)]);
        return rows;
      },
      (row) => row.kioskId,
      CLAIM_WINDOW_MS,
    );
    this.owners = batchedLookup((kioskIds) => deps.leases().ownersOf(kioskIds), (row) => row.kioskId, CLAIM_WINDOW_MS);
  }

  get moveGraceMs(): number {
    return this.options.moveGraceMs;
  }

  /**
   * Claims go to the store in batches: the claims of CLAIM_WINDOW_MS in one statement and their
   * states in another (a reconnect storm of thousands of kiosks costs a few statements a second, not
   * two per kiosk). A lone connection waits CLAIM_WINDOW_MS; its supervision events wait for the
   * claim (ownership.ts), its alerts do not.
   */
  async claim(kioskId: string, withState: boolean): Promise<KioskHealthRow | undefined> {
    const row = await this.claims.load(kioskId);
    return withState ? row : undefined;
  }

  /** Asked in batches as the claims are: a node losing thousands of connections at once reads their owners in a few statements. */
  async stillMine(kioskId: string): Promise<boolean> {
    return (await this.owners.load(kioskId))?.holder === this.options.holder;
  }

  /** Looks for orphans every `everyMs` (the first look one period from now: after this process's first beat). */
  start(supervision: Supervised): void {
    // Blind time counts from here: a store lost before the first look is still time this process could not see.
    this.lastLookAt = this.deps.clock.now().getTime();
    this.timer = setInterval(() => void this.takeOver(supervision), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Takes the orphans and hands each one's stored state to supervision, then lets go of the kiosks
   * held here that the store gives to another process; returns the ids taken.
   */
  async takeOver(supervision: Supervised): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const now = this.deps.clock.now();
      const blind = this.blindAt(now.getTime());
      // A node is dead after deadAfterMs of silence that this process could see, not counting its own blind time.
      const aliveSince = now.getTime() - this.options.deadAfterMs - (blind?.ms ?? 0);
      const taken = await this.deps.leases().takeOrphans(this.options.holder, aliveSince, now.toISOString());
      if (blind !== undefined && blind !== this.blind) this.deps.log.info({ blindMs: blind.ms }, "store read again after a blind spell: other nodes are not judged by the beats missed meanwhile");
      this.lastLookAt = now.getTime();
      this.blind = blind;
      for (let i = 0; i < taken.length; i += MAX_BATCH) {
        for (const row of await this.deps.health().getHealthOf(taken.slice(i, i + MAX_BATCH))) supervision.adopt(row);
      }
      if (taken.length > 0) this.deps.log.warn({ kiosks: taken.length, first: taken.slice(0, 5) }, "took over the supervision of kiosks whose gateway stopped beating and that have not connected elsewhere");
      await this.letGo(supervision, blind !== undefined);
      return taken;
    } catch (err) {
      this.deps.log.debug({ err }, "could not look for kiosks of stopped gateways: looked for again at the next beat");
      return [];
    } finally {
      this.running = false;
    }
  }

  /**
   * The blind time still to be left out of the others' silence at `nowMs`: a gap since the last look
   * longer than two beats (missed looks) adds to it; it is forgotten deadAfterMs after it ended.
   */
  private blindAt(nowMs: number): { until: number; ms: number } | undefined {
    const { everyMs, deadAfterMs } = this.options;
    const previous = this.blind !== undefined && nowMs - deadAfterMs < this.blind.until ? this.blind : undefined;
    const gap = this.lastLookAt === undefined ? 0 : nowMs - this.lastLookAt - everyMs;
    if (gap <= everyMs) return previous;
    return { until: nowMs, ms: (previous?.ms ?? 0) + gap };
  }

  /**
   * Lets go of the kiosks held here whose owner in the store is another process: those held offline
   * (taken over, or gone from here) at every look, every kiosk held while blind time is recent (the
   * others may have taken this process's kiosks while it could not beat).
   */
  private async letGo(supervision: Supervised, all: boolean): Promise<void> {
    const held = supervision.supervised(all);
    const lost: string[] = [];
    for (let i = 0; i < held.length; i += MAX_BATCH) {
      for (const row of await this.deps.leases().ownersOf(held.slice(i, i + MAX_BATCH))) if (row.holder !== this.options.holder) lost.push(row.kioskId);
    }
    if (lost.length === 0) return;
    supervision.lost(lost);
    this.deps.log.info({ kiosks: lost.length, first: lost.slice(0, 5) }, "kiosks held here are supervised by another gateway in the store: let go here (a heartbeat here claims one back)");
  }
}

/**
 * Which gateway process of a cluster supervises each kiosk (migration 16, store/lease-store.ts):
 * - a kiosk's connection makes its node's process the owner (claim), whoever owned it before;
 * - a process asks before deciding that a kiosk went away (stillMine): a kiosk that moved to
 *   another node is released, never called offline by the node it left (its old connection
 *   closing there, its last will, its heartbeats stopping there);
 * - every beat, each process takes the seen kiosks whose owner stopped beating (died, or stopped
 *   cleanly and left) and that have not connected anywhere since: they go offline on the usual
 *   timeouts from their last stored heartbeat, once (one taker per kiosk, by the store's
 *   statement), and an offline kiosk's reminders go on from the new owner on the same grid.
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

/** The first claim waits this long for others (a storm's connections come a few milliseconds apart). */
const CLAIM_WINDOW_MS = 10;

export class KioskOwners implements Ownership {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
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
  start(adopt: (row: KioskHealthRow) => void): void {
    this.timer = setInterval(() => void this.takeOver(adopt), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes the orphans and hands each one's stored state to supervision; returns their ids. */
  async takeOver(adopt: (row: KioskHealthRow) => void): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const now = this.deps.clock.now();
      const taken = await this.deps.leases().takeOrphans(this.options.holder, now.getTime() - this.options.deadAfterMs, now.toISOString());
      for (let i = 0; i < taken.length; i += MAX_BATCH) {
        for (const row of await this.deps.health().getHealthOf(taken.slice(i, i + MAX_BATCH))) adopt(row);
      }
      if (taken.length > 0) this.deps.log.warn({ kiosks: taken.length, first: taken.slice(0, 5) }, "took over the supervision of kiosks whose gateway stopped beating and that have not connected elsewhere");
      return taken;
    } catch (err) {
      this.deps.log.debug({ err }, "could not look for kiosks of stopped gateways: looked for again at the next beat");
      return [];
    } finally {
      this.running = false;
    }
  }
}

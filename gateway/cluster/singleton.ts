/**
 * "Is this mine to run?" for jobs that must run on one gateway process of a cluster at a time (the
 * rollout runner, the daily history pruning): the answer is a lease in the store (store/lease-store.ts),
 * taken or renewed at each run for `ttlMs`. The process that holds it runs the job; the others skip it
 * until the holder stops renewing (it died, or stopped cleanly and released it), then one of them takes
 * over. A single gateway always gets its own lease. A store that cannot answer means "not now": the
 * job waits for the next run rather than risking two runs.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { PROCESS_OWNER } from "../store/claims.js";
import type { LeaseStore } from "../store/lease-store.js";

export type IsMine = (job: string, ttlMs: number) => Promise<boolean>;

/** Every job is this process's (tests, tools that run alone). */
export const alwaysMine: IsMine = () => Promise.resolve(true);

export class Singletons {
  private readonly held = new Set<string>();
  private beatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly leases: () => LeaseStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly holder: string = PROCESS_OWNER,
  ) {}

  readonly mine: IsMine = async (job, ttlMs) => {
    let held: boolean;
    try {
      held = await this.leases().acquire(job, this.holder, this.clock.now(), ttlMs);
    } catch (err) {
      this.log.debug({ err, job }, "could not ask the store whose job this is: skipped this time");
      return false;
    }
    if (held && !this.held.has(job)) this.log.info({ job, holder: this.holder }, "cluster job taken: it runs on this gateway");
    if (!held && this.held.has(job)) this.log.warn({ job, holder: this.holder }, "cluster job lost to another gateway: it runs there now");
    if (held) this.held.add(job);
    else this.held.delete(job);
    return held;
  };

  /**
   * Beats in the store every `everyMs` with this gateway's connections, from now until releaseAll,
   * and with `deadAfterMs` (cluster.deadAfterMs): how long a silent node stays alive to the others.
   */
  startBeats(nodeId: string, connections: () => number, everyMs: number, deadAfterMs: number): void {
    const startedAt = this.clock.now().toISOString();
    const beat = (): void => {
      // Through a promise: a store that throws (a full disk) must not end the process from a timer.
      Promise.resolve()
        .then(() => this.leases().beat({ nodeId, holder: this.holder, startedAt, beatAt: this.clock.now().getTime(), connections: connections(), deadAfterMs }))
        .catch((err: unknown) => this.log.debug({ err }, "node beat not stored: tried again at the next"));
    };
    beat();
    this.beatTimer = setInterval(beat, everyMs);
    this.beatTimer.unref();
  }

  /** The gateway is ready: a stop from now on is a clean stop of a serving node (`sos cluster status` shows it). */
  serving = false;

  /** Gives up every lease this process holds and leaves the nodes (a clean stop: another gateway takes over at once). */
  async releaseAll(): Promise<void> {
    if (this.beatTimer !== undefined) {
      clearInterval(this.beatTimer);
      this.beatTimer = undefined;
      await this.leases()
        .leave(this.holder, this.serving ? this.clock.now() : null)
        .catch((err: unknown) => this.log.debug({ err }, "node row not removed: its beats stop"));
    }
    for (const job of [...this.held]) {
      this.held.delete(job);
      await this.leases()
        .release(job, this.holder)
        .catch((err: unknown) => this.log.debug({ err, job }, "lease not released: it lapses by itself"));
    }
  }
}

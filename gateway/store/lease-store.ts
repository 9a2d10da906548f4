/**
 * Leases (migration 14): a named job that must run on one gateway process of a cluster at a time (the
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

export interface LeaseStore {
  /**
   * Takes `name` for `holder` until now + ttlMs when it is free, lapsed or already `holder`'s (a
   * renewal); one statement, so two processes cannot both take it. True when `holder` holds it now.
   */
  acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Gives it up (a clean stop), only if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
  /** Every lease, by name. */
  list(): Promise<LeaseRecord[]>;
}

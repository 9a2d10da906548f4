/**
 * Reads of one record by key, gathered over a few milliseconds into one statement (DataLoader with
 * no cache: every read is fresh, only the round trips are shared). Used where a reconnect storm makes
 * thousands of reads a second: kiosk logins (broker/kiosk-auth.ts), the console's kiosk rows
 * (alarms/feature.ts) and the owner claims of a cluster node (cluster/kiosk-owners.ts).
 */
import DataLoader from "dataloader";

/** At most this many keys in one statement. */
export const MAX_BATCH = 500;

export function batchedLookup<V>(fetch: (keys: readonly string[]) => Promise<V[]>, keyOf: (value: V) => string, windowMs: number): DataLoader<string, V | undefined> {
  return new DataLoader<string, V | undefined>(
    async (keys) => {
      const found = new Map((await fetch(keys)).map((v) => [keyOf(v), v]));
      return keys.map((k) => found.get(k));
    },
    { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (run) => setTimeout(run, windowMs) },
  );
}

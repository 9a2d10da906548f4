/**
 * Whether this node's clock agrees with the store's. Beats, leases and kiosk owners are stamped by
 * each node's own clock and judged against the judge's: a node 90 s ahead takes every other node for
 * dead at its first look (their kiosks and jobs with them); one 60 s behind is taken for dead by the
 * others. NTP keeps nodes within milliseconds; a node off by more than SKEW_LIMIT_MS is said once
 * (a warning naming the offset and the fix), once more when it is back, on /readyz's cluster line and
 * as sos_cluster_clock_skew_seconds. Measured against PostgreSQL's clock_timestamp(), the one clock
 * every node shares, from the middle of the query's round trip; a round trip longer than the limit
 * tells nothing and is not judged.
 */
import type { Logger } from "pino";

/** Well below a beat (5 s) and the dead-after time (15 s), well above what NTP lets through. */
export const SKEW_LIMIT_MS = 2_000;
export const SKEW_FIX = "this node's clock is not the others': check NTP on it (timedatectl; chronyc tracking)";

export class ClockSkew {
  private skewMs: number | null = null;
  private off = false;

  constructor(private readonly log: Logger) {}

  /** This node's clock minus the store's, in ms, from the last judged look; null before one (or on SQLite). */
  get ms(): number | null {
    return this.skewMs;
  }

  /** Whether the offset is past the limit now. */
  get isOff(): boolean {
    return this.off;
  }

  /** One look: this node's clock before and after asking the store, and what the store said. */
  judge(beforeMs: number, storeMs: number | null, afterMs: number): void {
    if (storeMs === null || afterMs - beforeMs > SKEW_LIMIT_MS) return;
    const skew = Math.round((beforeMs + afterMs) / 2 - storeMs);
    this.skewMs = skew;
    const off = Math.abs(skew) > SKEW_LIMIT_MS;
    if (off === this.off) return;
    this.off = off;
    const words = `${Math.abs(skew / 1_000).toFixed(1)} s ${skew > 0 ? "ahead of" : "behind"} the store's`;
    if (off) this.log.warn({ skewMs: skew }, `this node's clock is ${words}: nodes judge each other's beats and leases by their own clocks, so kiosks and jobs may move wrongly: ${SKEW_FIX}`);
    else this.log.info({ skewMs: skew }, `this node's clock agrees with the store's again (${words})`);
  }
}

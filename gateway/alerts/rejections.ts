/**
 * How often a kiosk's bad messages are written down: the first `rowsPerMinute` of each kiosk in a
 * minute get a row in rejected_messages and a log line; past that they are only counted (the
 * rejection metric still counts each one) and one log line per kiosk per minute says how many
 * went unrecorded. A kiosk flooding bad messages costs no fsync per message and no disk.
 */
const WINDOW_MS = 60_000;

export const REJECTED_ROWS_PER_MINUTE = 10;

export type RejectionVerdict = { record: true } | { record: false; logNow: boolean };

export class RejectionSampler {
  private windowStart = 0;
  private readonly perKiosk = new Map<string, { recorded: number; unrecorded: number }>();

  constructor(private readonly rowsPerMinute = REJECTED_ROWS_PER_MINUTE) {}

  /**
   * Whether this rejection gets a row (and its own log line); `logNow`: the first unrecorded one of
   * the kiosk in this window (log one line for it).
   */
  admit(kioskId: string | null, nowMs: number): RejectionVerdict {
    if (nowMs - this.windowStart >= WINDOW_MS) {
      this.windowStart = nowMs;
      this.perKiosk.clear();
    }
    const key = kioskId ?? "";
    const seen = this.perKiosk.get(key) ?? { recorded: 0, unrecorded: 0 };
    this.perKiosk.set(key, seen);
    if (seen.recorded < this.rowsPerMinute) {
      seen.recorded += 1;
      return { record: true };
    }
    seen.unrecorded += 1;
    return { record: false, logNow: seen.unrecorded === 1 };
  }
}

/**
 * A state-change line that a misbehaving device cannot turn into a flood: the first few changes of
 * each window are logged as they come, the rest counted and said in one summary line at the window's
 * end (with the last state). A flapping POWER line logged 2 lines per change (80 000 lines in 10 s),
 * enough for journald's rate limit to drop the alarm's own lines.
 */
import type { Logger } from "pino";

export interface ChangeLogOptions {
  /** Changes logged as they come in each window. */
  readonly first: number;
  readonly windowMs: number;
}

export const DEFAULT_CHANGE_LOG: ChangeLogOptions = { first: 5, windowMs: 60_000 };

export class ChangeLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private suppressed = 0;
  private last: Record<string, unknown> = {};
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly level: "info" | "warn",
    private readonly msg: string,
    private readonly options: ChangeLogOptions = DEFAULT_CHANGE_LOG,
  ) {}

  change(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.windowStart >= this.options.windowMs) {
      this.flush();
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow += 1;
    if (this.inWindow <= this.options.first) {
      this.log[this.level](fields, this.msg);
      return;
    }
    this.suppressed += 1;
    this.last = fields;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.options.windowMs - now));
      this.timer.unref();
    }
  }

  /** Says what was held back (at stop, too). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    this.log[this.level]({ ...this.last, suppressed: this.suppressed, windowMs: this.options.windowMs }, `${this.msg}: ${this.suppressed} more changes not logged one by one (the last is shown)`);
    this.suppressed = 0;
  }
}

/**
 * What the second path must remember across restarts, in one small file (data/state/fallback.json):
 * the SMS counter (the gateway refuses a counter it has seen, so a counter is never used twice: it
 * is written before the SMS goes out), the send times of the last hour (the hourly budget holds
 * across a restart loop), and the scheduled SMS test's last and next time and result.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { readStateFile, writeFileDurably } from "../lib/durable-file.js";
import { ensureDir } from "../lib/state-dir.js";

const HOUR_MS = 3_600_000;

const stateSchema = z.object({
  v: z.literal(1),
  counter: z.number().int().min(0),
  sentAt: z.array(z.number()).max(1_000),
  lastTestAt: z.iso.datetime({ offset: true }).nullable(),
  lastTestOk: z.boolean().nullable(),
  nextTestAt: z.iso.datetime({ offset: true }).nullable(),
});
export type FallbackState = z.infer<typeof stateSchema>;

const EMPTY: FallbackState = { v: 1, counter: 0, sentAt: [], lastTestAt: null, lastTestOk: null, nextTestAt: null };

export class SmsState {
  private readonly path: string;
  private state: FallbackState;

  constructor(
    dataDir: string,
    private readonly perHour: number,
    private readonly log: Logger,
  ) {
    const dir = join(dataDir, "state");
    ensureDir(dir, log, "the SMS fallback's state is");
    this.path = join(dir, "fallback.json");
    this.state = this.load();
  }

  get current(): FallbackState {
    return this.state;
  }

  /** SMS sent in the hour before `nowMs`. */
  sentLastHour(nowMs: number): number {
    return this.state.sentAt.filter((t) => t > nowMs - HOUR_MS).length;
  }

  /**
   * Takes one SMS from the hourly budget and the next counter, on disk before the SMS is sent;
   * null when the budget is spent.
   */
  take(nowMs: number): number | null {
    const recent = this.state.sentAt.filter((t) => t > nowMs - HOUR_MS);
    if (recent.length >= this.perHour) return null;
    const counter = this.state.counter + 1;
    this.save({ ...this.state, counter, sentAt: [...recent, nowMs] });
    return counter;
  }

  recordTest(at: Date, ok: boolean | null, nextTestAt: Date | null): void {
    this.save({ ...this.state, lastTestAt: at.toISOString(), lastTestOk: ok, nextTestAt: nextTestAt?.toISOString() ?? null });
  }

  scheduleTest(nextTestAt: Date): void {
    this.save({ ...this.state, nextTestAt: nextTestAt.toISOString() });
  }

  private load(): FallbackState {
    const read = readStateFile(this.path, stateSchema);
    if (read.found === "value") return read.value;
    if (read.found === "none") return EMPTY;
    // The counter is lost: the gateway refuses ours until it passes the last one it took. Said loudly.
    this.log.error({ path: this.path, reason: read.reason }, "fallback state unreadable: SMS counter restarts from a time-based value");
    return { ...EMPTY, counter: Math.floor(Date.now() / 1_000) };
  }

  private save(next: FallbackState): void {
    this.state = next;
    try {
      writeFileDurably(this.path, JSON.stringify(next));
    } catch (err) {
      this.log.error({ err }, "cannot save the fallback state");
    }
  }
}

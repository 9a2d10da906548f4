/**
 * The scheduled test alarm (EN 81-28: over the same path as a real alarm, at least every 72 h):
 * every `everyMs` plus a random delay up to `jitterMs` (so a fleet started together does not test
 * at once), through AlarmController.raise("test", "scheduled-test"): the outbox, the link, the
 * gateway's pipeline and dispatch, marked kind "test". A test alert never opens an alarm, lights
 * nothing and rings no operator (the call manager listens to `alarm.raised`, which only sos raises).
 *
 * The last and the next time are kept in the data folder: a restart does not reset the schedule,
 * and a kiosk switched off past its due time tests as soon as it is back. The first start schedules
 * the first test one interval ahead. While an sos alarm is open the test waits (retryAfterMs).
 * The clock is read again at least hourly; a due time further ahead than one interval (a clock that
 * was wrong when it was written) is replaced.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import type { Clock } from "../../shared/clock.js";
import type { Alert } from "../../shared/contract.js";
import { readStateFile, writeFileDurably } from "../lib/durable-file.js";
import { MAX_SLEEP_MS } from "./recheck.js";
import { ensureDir } from "../lib/state-dir.js";

export interface TestAlarmDeps {
  readonly dataDir: string;
  readonly everyMs: number;
  readonly jitterMs: number;
  readonly retryAfterMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Raises the test alert (AlarmController.raise("test", "scheduled-test")). */
  readonly raise: () => Alert;
  /** Why a test alarm must wait now ("alarm open"), or null. */
  readonly busy: () => string | null;
  /** 0 ≤ random() < 1; default Math.random. */
  readonly random?: () => number;
}

const stateSchema = z.object({
  v: z.literal(1),
  lastAt: z.iso.datetime({ offset: true }).nullable(),
  nextAt: z.iso.datetime({ offset: true }),
});
type State = z.infer<typeof stateSchema>;

export class TestAlarmSchedule {
  private readonly path: string;
  private state: State | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: TestAlarmDeps) {
    const dir = join(deps.dataDir, "state");
    ensureDir(dir, deps.log, "the test-alarm schedule is");
    this.path = join(dir, "test-alarm.json");
  }

  get lastAt(): Date | null {
    const last = this.state?.lastAt;
    return last == null ? null : new Date(last);
  }

  get nextAt(): Date | undefined {
    return this.state === undefined ? undefined : new Date(this.state.nextAt);
  }

  start(): void {
    const now = this.deps.clock.now().getTime();
    const loaded = this.load();
    const horizon = now + this.deps.everyMs + this.deps.jitterMs;
    if (loaded === undefined || Date.parse(loaded.nextAt) > horizon) {
      if (loaded !== undefined) this.deps.log.warn({ nextAt: loaded.nextAt }, "test alarm due further ahead than one interval (the clock was wrong?): rescheduled");
      this.state = { v: 1, lastAt: loaded?.lastAt ?? null, nextAt: this.nextFrom(now) };
      this.save();
    } else {
      this.state = loaded;
    }
    this.deps.log.info({ lastAt: this.state.lastAt, nextAt: this.state.nextAt }, "test alarm scheduled");
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private nextFrom(fromMs: number): string {
    const random = this.deps.random ?? Math.random;
    return new Date(fromMs + this.deps.everyMs + Math.floor(random() * this.deps.jitterMs)).toISOString();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.state === undefined) return;
    const wait = Math.min(Math.max(0, Date.parse(this.state.nextAt) - this.deps.clock.now().getTime()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    const state = this.state;
    if (this.stopped || state === undefined) return;
    const now = this.deps.clock.now().getTime();
    if (now < Date.parse(state.nextAt)) return this.arm();
    const busy = this.deps.busy();
    if (busy !== null) {
      this.deps.log.info({ reason: busy, retryInMs: this.deps.retryAfterMs }, "test alarm postponed");
      this.state = { ...state, nextAt: new Date(now + this.deps.retryAfterMs).toISOString() };
    } else {
      try {
        const alert = this.deps.raise();
        this.deps.log.info({ alertId: alert.alertId }, "test alarm raised");
        this.state = { v: 1, lastAt: new Date(now).toISOString(), nextAt: this.nextFrom(now) };
      } catch (err) {
        this.deps.log.error({ err, retryInMs: this.deps.retryAfterMs }, "test alarm could not be raised");
        this.state = { ...state, nextAt: new Date(now + this.deps.retryAfterMs).toISOString() };
      }
    }
    // Written after the raise: a crash in between repeats a test, never skips one.
    this.save();
    this.arm();
  }

  private load(): State | undefined {
    const read = readStateFile(this.path, stateSchema);
    if (read.found === "value") return read.value;
    if (read.found === "none") return undefined;
    this.deps.log.warn({ path: this.path, reason: read.reason }, "test alarm schedule unreadable: starting a new one");
    return undefined;
  }

  private save(): void {
    if (this.state === undefined) return;
    try {
      writeFileDurably(this.path, JSON.stringify(this.state));
    } catch (err) {
      this.deps.log.warn({ err, path: this.path }, "test alarm schedule not saved: a restart would start it anew");
    }
  }
}

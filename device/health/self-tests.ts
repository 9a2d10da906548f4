/**
 * Runs the self-test checks once a day at a local time of day (health.selfTest.at) and on demand.
 *
 * - Never while the kiosk is busy (an alarm open, a call ringing or running): the run is postponed
 *   and tried again after retryAfterMin. An alarm raised during a run aborts it at once (the camera
 *   and the speaker are the alarm's); it is tried again later the same way.
 * - Each check's result feeds the FaultMonitor as "selftest:<name>" (set on fail, cleared on pass or
 *   not-applicable) and the heartbeat. A button line that reads pressed stops alarms, so that
 *   reading makes "selftest:button" a blocking fault (the lights show out-of-order); a line that
 *   cannot be read (gpiomon restarting), camera and audio faults are reported but the kiosk still
 *   raises alarms, so they do not change the lights. A failing button is read again every
 *   retryAfterMin (the button check alone), so a freed button is back in service within minutes.
 * - The last result of each check is kept in the data folder, so a restart still reports it; a
 *   stored button failure is reported only, until the button is read again (retryAfterMin after start).
 * - The clock is read again at least hourly, so a clock set late (NTP at boot) still runs on time.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import { type SelfTestResult, selfTestResultSchema } from "../../shared/health.js";
import type { KioskEvents } from "../events.js";
import { writeFileDurably } from "../lib/durable-file.js";
import { BUTTON_STUCK } from "./checks/button.js";
import type { CheckOutcome, SelfCheck } from "./checks/check.js";

/** Timers wake at least this often to read the clock again. */
export const MAX_SLEEP_MS = 60 * 60_000;

/** The fault sink: FaultMonitor. */
export interface FaultSink {
  set(fault: string, on: boolean): void;
  setDegraded(fault: string, on: boolean): void;
}

export interface SelfTestDeps {
  readonly checks: readonly SelfCheck[];
  readonly clock: Clock;
  readonly log: Logger;
  readonly bus: EventBus<KioskEvents>;
  readonly faults: FaultSink;
  readonly dataDir: string;
  /** Why the kiosk cannot run its self-test now ("call active", "alarm open"), or null. */
  readonly busy: () => string | null;
  /** "HH:MM", local time. */
  readonly at: string;
  readonly retryAfterMs: number;
}

/** The next local time of day `hhmm` strictly after `now`. */
export function nextDailyAt(now: Date, hhmm: string): Date {
  const [h, m] = hhmm.split(":").map(Number);
  const next = new Date(now);
  next.setHours(h ?? 0, m ?? 0, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next;
}

/**
 * Runs the checks one after another; each result is passed to onResult as it comes. Stops at an
 * abort: the check it interrupted gives no result. Also used by `sos kiosk selftest`.
 */
export async function runChecks(checks: readonly SelfCheck[], clock: Clock, signal: AbortSignal, onResult: (r: SelfTestResult) => void = () => undefined): Promise<SelfTestResult[]> {
  const done: SelfTestResult[] = [];
  for (const check of checks) {
    if (signal.aborted) break;
    const started = clock.now();
    let outcome: CheckOutcome;
    try {
      outcome = await check.run(signal);
    } catch (err) {
      outcome = { result: "fail", detail: `check failed: ${(err as Error).message}` };
    }
    if (signal.aborted) break;
    const result: SelfTestResult = {
      name: check.name,
      result: outcome.result,
      detail: outcome.detail.slice(0, 500),
      at: started.toISOString(),
      durationMs: Math.max(0, clock.now().getTime() - started.getTime()),
      measurements: outcome.measurements ?? {},
    };
    done.push(result);
    onResult(result);
  }
  return done;
}

const storedSchema = z.object({ v: z.literal(1), results: z.array(selfTestResultSchema) });

export class SelfTests {
  private readonly results = new Map<string, SelfTestResult>();
  private readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private buttonTimer: NodeJS.Timeout | undefined;
  private due: Date | undefined;
  private running: Promise<SelfTestResult[] | null> | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: SelfTestDeps) {
    const dir = join(deps.dataDir, "state");
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, "self-tests.json");
    this.load();
    this.unsubscribe = deps.bus.on("alarm.raised", "self-tests", () => {
      // A press came through the button circuit: whatever the last reading said, it is not stuck now.
      deps.faults.set("selftest:button", false);
      if (this.abort === undefined) return;
      deps.log.warn("alarm raised during the self-test: self-test aborted, the camera and speaker are the alarm's");
      this.abort.abort();
    });
  }

  /** The last result of each check (by check order). */
  get last(): SelfTestResult[] {
    return this.deps.checks.flatMap((c) => this.results.get(c.name) ?? []);
  }

  /** When the next scheduled run is due. */
  get nextAt(): Date | undefined {
    return this.due;
  }

  start(): void {
    this.due = nextDailyAt(this.deps.clock.now(), this.deps.at);
    this.deps.log.info({ nextAt: this.due.toISOString(), at: this.deps.at }, "self-test scheduled");
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    clearTimeout(this.timer);
    clearTimeout(this.buttonTimer);
    this.abort?.abort();
  }

  /**
   * Runs every check now (or joins the run in progress). Resolves with the results, or null when the
   * kiosk was busy or an alarm aborted the run (the checks finished before the abort still count).
   */
  run(trigger: "scheduled" | "on-demand" = "on-demand"): Promise<SelfTestResult[] | null> {
    this.running ??= this.runChecks(trigger).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runChecks(trigger: string): Promise<SelfTestResult[] | null> {
    const { log, clock } = this.deps;
    const busy = this.deps.busy();
    if (busy !== null) {
      log.info({ trigger, reason: busy, retryInMs: this.deps.retryAfterMs }, "self-test postponed");
      return null;
    }
    const abort = new AbortController();
    this.abort = abort;
    let done: SelfTestResult[] = [];
    try {
      done = await runChecks(this.deps.checks, clock, abort.signal, (r) => this.record(r));
      if (abort.signal.aborted) return null;
      log.info({ trigger, results: done.map((r) => ({ name: r.name, result: r.result, detail: r.detail })) }, "self-test finished");
      return done;
    } finally {
      this.abort = undefined;
      if (done.length > 0) this.save();
    }
  }

  private record(result: SelfTestResult): void {
    this.results.set(result.name, result);
    this.applyFault(result);
    const level = result.result === "fail" ? "warn" : "info";
    this.deps.log[level]({ check: result.name, result: result.result, detail: result.detail, measurements: result.measurements, durationMs: result.durationMs }, "self-test check");
  }

  /** `fresh`: a reading just made (a stored one from before a restart may no longer be true). */
  private applyFault(result: SelfTestResult, fresh = true): void {
    const fault = `selftest:${result.name}`;
    const failing = result.result === "fail";
    const stuck = failing && result.name === "button" && result.measurements[BUTTON_STUCK] === 1 && fresh;
    if (result.name === "button") this.deps.faults.set(fault, stuck);
    this.deps.faults.setDegraded(fault, failing && !stuck);
    if (result.name === "button") this.armButtonRecheck(failing);
  }

  /** While the button fails, read it again (alone) every retryAfterMs. */
  private armButtonRecheck(failing: boolean): void {
    clearTimeout(this.buttonTimer);
    this.buttonTimer = undefined;
    const check = this.deps.checks.find((c) => c.name === "button");
    if (!failing || this.stopped || check === undefined) return;
    this.buttonTimer = setTimeout(() => void this.recheckButton(check), this.deps.retryAfterMs);
  }

  private async recheckButton(check: SelfCheck): Promise<void> {
    if (this.stopped) return;
    if (this.running !== undefined || this.deps.busy() !== null) return this.armButtonRecheck(true);
    const [result] = await runChecks([check], this.deps.clock, new AbortController().signal, (r) => this.record(r));
    if (result !== undefined) this.save();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.due === undefined) return;
    const wait = Math.min(Math.max(0, this.due.getTime() - this.deps.clock.now().getTime()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private async tick(): Promise<void> {
    const due = this.due;
    if (this.stopped || due === undefined) return;
    if (this.deps.clock.now().getTime() < due.getTime()) return this.arm();
    const results = await this.run("scheduled");
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.due = results === null ? new Date(now.getTime() + this.deps.retryAfterMs) : nextDailyAt(now, this.deps.at);
    this.arm();
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return;
    }
    try {
      const parsed = storedSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error("does not match the schema");
      for (const r of parsed.data.results) {
        this.results.set(r.name, r);
        this.applyFault(r, false);
      }
    } catch (err) {
      this.deps.log.warn({ path: this.path, reason: (err as Error).message }, "last self-test results unreadable: ignored");
    }
  }

  private save(): void {
    try {
      writeFileDurably(this.path, JSON.stringify({ v: 1, results: [...this.results.values()] }));
    } catch (err) {
      this.deps.log.warn({ err, path: this.path }, "self-test results not saved");
    }
  }
}

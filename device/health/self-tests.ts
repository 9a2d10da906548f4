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
 * - A black picture in the scheduled run is no verdict (an unlit site is dark at 03:30): the camera
 *   is "not-applicable", no fault, and is checked again alone at health.selfTest.daylightAt, where
 *   black fails (device/health/recheck.ts). Frozen fails at any time; on demand, black fails at once.
 *   Re-checks (button, camera) wait while the kiosk is busy and are aborted by an alarm like a run.
 * - The last result of each check is kept in the data folder, so a restart still reports it; a
 *   stored button failure is reported only, until the button is read again (retryAfterMin after start);
 *   a stored pending daylight re-check is armed again.
 * - The clock is read again at least hourly, so a clock set late (NTP at boot) still runs on time.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import { type SelfTestResult, selfTestResultSchema } from "../../shared/health.js";
import type { KioskEvents } from "../events.js";
import { readStateFile, writeFileDurably } from "../lib/durable-file.js";
import { BUTTON_STUCK } from "./checks/button.js";
import type { CheckOutcome, SelfCheck } from "./checks/check.js";
import { darkIsNoVerdict, daylightRecheckDue, DueTimer, nextDailyAt } from "./recheck.js";
import { ensureDir } from "../lib/state-dir.js";

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
  /** "HH:MM", local time: the camera's re-check after a black picture in the scheduled run. */
  readonly daylightAt: string;
  readonly retryAfterMs: number;
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
  private readonly daily: DueTimer;
  /** A failing button, read again every retryAfterMs. */
  private readonly buttonRecheck: DueTimer;
  /** The camera, checked again in daylight after a black picture in the scheduled run. */
  private readonly cameraRecheck: DueTimer;
  private running: Promise<SelfTestResult[] | null> | undefined;
  private rechecking: Promise<unknown> | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  /** Re-checks of stored results (read at load) are armed only by start() (self-tests enabled): they wait here. */
  private started = false;
  /** A check ran in this process (on demand): its re-checks arm at once. */
  private ran = false;
  private readonly waiting = new Map<DueTimer, Date | undefined>();
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: SelfTestDeps) {
    const dir = join(deps.dataDir, "state");
    ensureDir(dir, deps.log, "self-test results are");
    this.path = join(dir, "self-tests.json");
    this.daily = new DueTimer(deps.clock, () => void this.tick());
    this.buttonRecheck = new DueTimer(deps.clock, () => void this.recheck("button", this.buttonRecheck));
    this.cameraRecheck = new DueTimer(deps.clock, () => void this.recheck("camera", this.cameraRecheck));
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
    return this.daily.at;
  }

  /** When the camera is checked again in daylight (after a black picture in the scheduled run), if it is. */
  get cameraRecheckAt(): Date | undefined {
    return this.cameraRecheck.at;
  }

  start(): void {
    const due = nextDailyAt(this.deps.clock.now(), this.deps.at);
    this.deps.log.info({ nextAt: due.toISOString(), at: this.deps.at }, "self-test scheduled");
    this.daily.set(due);
    this.started = true;
    for (const [timer, at] of this.waiting) this.rearm(timer, at);
    this.waiting.clear();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const timer of [this.daily, this.buttonRecheck, this.cameraRecheck]) timer.stop();
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

  private async runChecks(trigger: "scheduled" | "on-demand"): Promise<SelfTestResult[] | null> {
    const { log, clock, at, daylightAt } = this.deps;
    await this.rechecking; // a camera or button re-check in progress: the run follows it
    const busy = this.deps.busy();
    if (busy !== null) {
      log.info({ trigger, reason: busy, retryInMs: this.deps.retryAfterMs }, "self-test postponed");
      return null;
    }
    const abort = new AbortController();
    this.abort = abort;
    let done: SelfTestResult[] = [];
    try {
      // At night, black is no verdict; a daily run already in daylight (at = daylightAt) judges it at once.
      const night = trigger === "scheduled" && at !== daylightAt;
      const checks = this.deps.checks.map((c) => (night && c.name === "camera" ? darkIsNoVerdict(c, clock, daylightAt, this.results.get(c.name)) : c));
      done = await runChecks(checks, clock, abort.signal, (r) => this.record(r));
      if (abort.signal.aborted) return null;
      log.info({ trigger, results: done.map((r) => ({ name: r.name, result: r.result, detail: r.detail })) }, "self-test finished");
      return done;
    } finally {
      this.abort = undefined;
      if (done.length > 0) this.save();
    }
  }

  private record(result: SelfTestResult): void {
    this.ran = true;
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
    const now = this.deps.clock.now();
    if (result.name === "button") this.rearm(this.buttonRecheck, failing ? this.later() : undefined);
    if (result.name === "camera") this.rearm(this.cameraRecheck, daylightRecheckDue(result, now, this.deps.daylightAt, fresh));
  }

  private rearm(timer: DueTimer, due: Date | undefined): void {
    if (!this.started && !this.ran) this.waiting.set(timer, due);
    else if (due === undefined || this.stopped) timer.clear();
    else timer.set(due);
  }

  private later(): Date {
    return new Date(this.deps.clock.now().getTime() + this.deps.retryAfterMs);
  }

  /**
   * Runs one check alone (the failing button; the camera in daylight) and records its verdict as
   * it is. Busy (the kiosk, or a run in progress) or aborted by an alarm: tried again after retryAfterMs.
   */
  private async recheck(name: "button" | "camera", timer: DueTimer): Promise<void> {
    const { log, clock } = this.deps;
    const check = this.deps.checks.find((c) => c.name === name);
    if (this.stopped || check === undefined) return timer.clear();
    const trigger = `${name} re-check`;
    const busy = this.running !== undefined || this.rechecking !== undefined ? "self-test running" : this.deps.busy();
    if (busy !== null) {
      log.info({ trigger, reason: busy, retryInMs: this.deps.retryAfterMs }, "self-test postponed");
      return timer.set(this.later());
    }
    timer.clear();
    const abort = new AbortController();
    this.abort = abort;
    const run = runChecks([check], clock, abort.signal, (r) => this.record(r));
    this.rechecking = run;
    try {
      const [result] = await run;
      if (result !== undefined) this.save();
      if (abort.signal.aborted && !this.stopped) timer.set(this.later());
    } finally {
      this.abort = undefined;
      this.rechecking = undefined;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const results = await this.run("scheduled");
    if (this.stopped) return;
    this.daily.set(results === null ? this.later() : nextDailyAt(this.deps.clock.now(), this.deps.at));
  }

  private load(): void {
    const read = readStateFile(this.path, storedSchema);
    if (read.found === "unreadable") this.deps.log.warn({ path: this.path, reason: read.reason }, "last self-test results unreadable: ignored");
    if (read.found !== "value") return;
    for (const r of read.value.results) {
      this.results.set(r.name, r);
      this.applyFault(r, false);
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

/**
 * The self-test's timers, and its one rule about light.
 *
 * - DueTimer fires at a wall-clock time and reads the clock again at least hourly, so a clock set
 *   late (NTP at boot) still fires on time. The daily run, the failing button's re-reads and the
 *   camera's daylight re-check each have one.
 * - darkIsNoVerdict: in the scheduled night run a black picture is no verdict (a camera on an unlit
 *   site, without infrared, sees black at 03:30). The camera's result is then "not-applicable", with
 *   no fault, and carries DAYLIGHT_RECHECK_AT: the time the camera alone is checked again, in
 *   daylight, where black is a failure. The result is stored, so the re-check survives a restart.
 *   A frozen picture, or no picture at all, is no matter of light: they fail at any time.
 */
import type { Clock } from "../../shared/clock.js";
import type { SelfTestResult } from "../../shared/health.js";
import { CAMERA_BLACK } from "./checks/camera.js";
import type { CheckOutcome, SelfCheck } from "./checks/check.js";

/** Timers wake at least this often to read the clock again. */
export const MAX_SLEEP_MS = 60 * 60_000;

/** The measurement of a pending daylight re-check: when it is due (ms since the epoch). */
export const DAYLIGHT_RECHECK_AT = "daylightRecheckAt";

/** A stored re-check missed by less than this (the agent was restarting) still runs; later, the next day. */
export const RECHECK_LATE_MS = 60 * 60_000;

/** The next local time of day `hhmm` strictly after `now`. */
export function nextDailyAt(now: Date, hhmm: string): Date {
  const [h, m] = hhmm.split(":").map(Number);
  const next = new Date(now);
  next.setHours(h ?? 0, m ?? 0, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next;
}

const hhmmOf = (d: Date): string => `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;

/** Calls `fire` once `at` has come; set again or clear from there. */
export class DueTimer {
  private timer: NodeJS.Timeout | undefined;
  private due: Date | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** When it fires next (still set while `fire` runs, until set again or cleared). */
  get at(): Date | undefined {
    return this.due;
  }

  set(due: Date): void {
    this.due = due;
    this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.due === undefined) return;
    const wait = Math.min(Math.max(0, this.due.getTime() - this.clock.now().getTime()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.wake(), wait);
  }

  private wake(): void {
    this.timer = undefined;
    if (this.stopped || this.due === undefined) return;
    if (this.clock.now().getTime() < this.due.getTime()) return this.arm();
    this.fire();
  }
}

/**
 * The camera check of the scheduled night run: a black picture is no verdict, and carries a daylight
 * re-check. The last verdict stands meanwhile: "not-applicable" after a pass (or none), but a camera
 * found black in daylight stays failing (it would otherwise flap: cleared every night, failing every noon).
 */
export function darkIsNoVerdict(check: SelfCheck, clock: Clock, daylightAt: string, last: SelfTestResult | undefined): SelfCheck {
  return {
    name: check.name,
    async run(signal: AbortSignal): Promise<CheckOutcome> {
      const started = clock.now();
      const outcome = await check.run(signal);
      const measurements = outcome.measurements ?? {};
      if (outcome.result !== "fail" || measurements[CAMERA_BLACK] !== 1) return outcome;
      const recheckAt = nextDailyAt(started, daylightAt);
      if (last?.result === "fail" && last.measurements[CAMERA_BLACK] === 1) {
        return {
          result: "fail",
          detail: `black in daylight at ${hhmmOf(new Date(last.at))}, too dark to judge at ${hhmmOf(started)}: the camera is checked again at ${daylightAt}; check the lens (covered, painted), the light and the camera`,
          measurements: { ...measurements, [DAYLIGHT_RECHECK_AT]: recheckAt.getTime() },
        };
      }
      return {
        result: "not-applicable",
        detail: `picture too dark to judge at ${hhmmOf(started)} (mean luma ${measurements["meanLuma"] ?? "?"}): the camera is checked again at ${daylightAt}`,
        measurements: { ...measurements, [DAYLIGHT_RECHECK_AT]: recheckAt.getTime() },
      };
    },
  };
}

/**
 * When a result's daylight re-check is due, or undefined (none pending). `fresh`: just recorded; a
 * stored one (read at start) missed by more than RECHECK_LATE_MS waits for the next daylightAt.
 */
export function daylightRecheckDue(result: SelfTestResult, now: Date, daylightAt: string, fresh: boolean): Date | undefined {
  const at = result.measurements[DAYLIGHT_RECHECK_AT];
  if (at === undefined) return undefined;
  if (!fresh && now.getTime() - at > RECHECK_LATE_MS) return nextDailyAt(now, daylightAt);
  return new Date(at);
}

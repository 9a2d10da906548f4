/**
 * The systemd watchdog, fed only while the alarm path is healthy: a press could be read (button
 * driver alive), recorded (outbox writable) and acted on (event loop not stalled). A wedged agent
 * stops pinging and systemd restarts it (WatchdogSec=). A hung event loop sends nothing by itself;
 * a loop that stalls now and then is caught here: a tick that arrives more than maxLoopLagMs late
 * pings nothing.
 *
 * Each change between healthy and unhealthy is logged and sent as STATUS=… (`systemctl status`).
 * Outside systemd (no notifier, no WATCHDOG_USEC) nothing runs. The gateway uses it too, with its
 * own checks (gateway/service/systemd.ts).
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { ServiceNotifier } from "./notify.js";

/** One part of the alarm path: null when healthy, else why not (one line). */
export interface AlarmPathCheck {
  readonly name: string;
  problem(): string | null;
  /**
   * A problem a restart cannot mend (an unplugged button panel): said in STATUS and logged, but the
   * watchdog stays fed, since restarting the agent in a loop would only make things worse.
   */
  readonly restartCannotHelp?: boolean;
}

export interface WatchdogTick {
  readonly healthy: boolean;
  readonly problems: readonly string[];
  /** How late this tick ran (event loop lag), ms. */
  readonly lagMs: number;
}

export interface WatchdogOptions {
  readonly intervalMs: number;
  /** A tick later than this is a stalled event loop (default: half the interval, at least 1 s). */
  readonly maxLoopLagMs?: number;
  /** What is watched, in the logs and STATUS lines (default "alarm path": the kiosk's; the gateway says "gateway"). */
  readonly subject?: string;
}

export class AlarmPathWatchdog extends EventEmitter<{ tick: [WatchdogTick] }> {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private healthy: boolean | undefined;
  private lastProblems = "";
  private lastNotices = "";
  private readonly maxLagMs: number;

  constructor(
    private readonly notifier: ServiceNotifier,
    private readonly checks: readonly AlarmPathCheck[],
    private readonly options: WatchdogOptions,
    private readonly log: Logger,
  ) {
    super();
    this.maxLagMs = options.maxLoopLagMs ?? Math.max(1_000, Math.floor(options.intervalMs / 2));
  }

  start(): void {
    if (!this.notifier.enabled) return;
    this.schedule();
    this.log.info({ intervalMs: this.options.intervalMs, maxLoopLagMs: this.maxLagMs }, "systemd watchdog armed");
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The alarm path's problems now that a restart could mend (also for the heartbeat or a technician). */
  problems(lagMs = 0): string[] {
    const problems = this.found(this.checks.filter((c) => c.restartCannotHelp !== true));
    if (lagMs > this.maxLagMs) problems.push(`event loop stalled ${Math.round(lagMs)} ms`);
    return problems;
  }

  /** The alarm path's problems now that a restart cannot mend: the watchdog is fed through them. */
  notices(): string[] {
    return this.found(this.checks.filter((c) => c.restartCannotHelp === true));
  }

  private found(checks: readonly AlarmPathCheck[]): string[] {
    const problems: string[] = [];
    for (const check of checks) {
      let problem: string | null;
      try {
        problem = check.problem();
      } catch (err) {
        problem = `${check.name}: check failed (${err instanceof Error ? err.message : String(err)})`;
      }
      if (problem !== null) problems.push(problem);
    }
    return problems;
  }

  private schedule(): void {
    this.dueAt = performance.now() + this.options.intervalMs;
    this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    const lagMs = Math.max(0, performance.now() - this.dueAt);
    const problems = this.problems(lagMs);
    const notices = this.notices();
    const healthy = problems.length === 0;
    const summary = problems.join("; ");
    const noticed = notices.join("; ");
    if (healthy !== this.healthy || summary !== this.lastProblems || noticed !== this.lastNotices) {
      const subject = this.options.subject ?? "alarm path";
      if (!healthy) this.log.error({ problems, notices }, `${subject} unhealthy: the systemd watchdog is not fed (systemd restarts the ${subject === "alarm path" ? "agent" : subject} if this lasts)`);
      else if (notices.length > 0) this.log.error({ notices }, `${subject} not working: ${noticed}; the systemd watchdog is still fed (a restart would not mend this)`);
      else this.log.info(`${subject} healthy: feeding the systemd watchdog`);
      const status = !healthy ? `${subject} unhealthy: ${[...problems, ...notices].join("; ")}` : notices.length > 0 ? `${subject} not working: ${noticed}` : `${subject} healthy`;
      void this.notifier.notify({ STATUS: status });
      this.healthy = healthy;
      this.lastProblems = summary;
      this.lastNotices = noticed;
    }
    if (healthy) void this.notifier.notify({ WATCHDOG: "1" });
    this.emit("tick", { healthy, problems, lagMs });
    if (this.timer !== undefined) this.schedule();
  }
}

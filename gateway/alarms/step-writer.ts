/**
 * Writes alarm steps, and writes them again when the store could not (a database blip, a full disk):
 * the alert itself is already stored and acknowledged by then, and its history must not miss a step.
 * A failed step is retried with backoff (1 s doubling to 30 s) for about ten minutes, with its own
 * time, then given up with an error; at most MAX_WAITING steps wait at once (the oldest beyond that is
 * given up, counted in the log). Once-only steps make a repeated write harmless.
 */
import type { Logger } from "pino";
import { backoffDelay } from "../../shared/backoff.js";
import type { AlarmStep, AlarmStore } from "../store/alarm-store.js";

const RETRY = { minMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 } as const;
const MAX_ATTEMPTS = 25;
const MAX_WAITING = 10_000;

export class StepWriter {
  private readonly waiting = new Map<NodeJS.Timeout, AlarmStep>();

  constructor(
    private readonly alarms: () => AlarmStore,
    /** A step written with `push` was stored (not a repeat): push it to the pages. */
    private readonly stored: (step: AlarmStep) => void,
    private readonly log: Logger,
  ) {}

  /** Resolves once the first try is over (stored, a repeat, or queued for another try); `push`: tell the pages once stored. */
  async write(step: AlarmStep, push = true, attempt = 1): Promise<void> {
    try {
      if ((await this.alarms().recordStep(step)) && push) this.stored(step);
      if (attempt > 1) this.log.info({ alertId: step.alertId, step: step.type, attempt }, "alarm step stored after a retry");
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS) {
        this.log.error({ err, alertId: step.alertId, step: step.type, attempts: attempt }, "alarm step not stored: given up (the alert itself is stored)");
        return;
      }
      const delayMs = backoffDelay(RETRY, attempt);
      if (attempt === 1) this.log.warn({ err, alertId: step.alertId, step: step.type, retryInMs: delayMs }, "could not store an alarm step: retrying");
      this.later(step, push, attempt + 1, delayMs);
    }
  }

  /** Steps waiting for another try. */
  get pending(): number {
    return this.waiting.size;
  }

  stop(): void {
    for (const timer of this.waiting.keys()) clearTimeout(timer);
    if (this.waiting.size > 0) this.log.warn({ steps: this.waiting.size }, "alarm steps not stored at shutdown");
    this.waiting.clear();
  }

  private later(step: AlarmStep, push: boolean, attempt: number, delayMs: number): void {
    if (this.waiting.size >= MAX_WAITING) {
      const [oldest] = this.waiting;
      if (oldest !== undefined) {
        clearTimeout(oldest[0]);
        this.waiting.delete(oldest[0]);
        this.log.error({ alertId: oldest[1].alertId, step: oldest[1].type, waiting: MAX_WAITING }, "alarm step not stored: too many waiting, the oldest given up");
      }
    }
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      void this.write(step, push, attempt);
    }, delayMs);
    timer.unref();
    this.waiting.set(timer, step);
  }
}

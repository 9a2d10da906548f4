/**
 * Alarm steps the store could not take because it was unreachable (a PostgreSQL switchover, killed
 * connections): kept in memory, in order, and written again with backoff until the store answers,
 * so an alarm's history does not lose its "received" or "delivered" step to a short outage. Bounded:
 * beyond MAX_WAITING the oldest are dropped, counted and logged once per outage.
 */
import type { Logger } from "pino";
import { backoffDelay, type BackoffPolicy } from "../../shared/backoff.js";
import type { AlarmStep, AlarmStore } from "../store/alarm-store.js";

export const MAX_WAITING = 10_000;
const RETRY: BackoffPolicy = { minMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

interface Waiting {
  readonly step: AlarmStep;
  readonly push: boolean;
}

export class StepRetry {
  private readonly waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private dropped = 0;
  private stopped = false;
  private flushing = false;

  constructor(
    private readonly alarms: () => AlarmStore,
    /** A step written at last (stored: false when it was a once-only step already there). */
    private readonly written: (step: AlarmStep, stored: boolean, push: boolean) => void,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  add(step: AlarmStep, push: boolean): void {
    if (this.stopped) return;
    this.waiting.push({ step, push });
    if (this.waiting.length > MAX_WAITING) {
      this.waiting.shift();
      if (this.dropped++ === 0) this.log.error({ max: MAX_WAITING }, "alarm steps waiting for the store exceed the limit: the oldest are dropped from alarm histories");
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.waiting.length > 0) this.log.warn({ steps: this.waiting.length }, "alarm steps still waiting for the store at shutdown are not stored");
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, backoffDelay(RETRY, this.failures + 1));
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.flushing) return; // the running flush takes what was added meanwhile
    this.flushing = true;
    try {
      await this.writeWaiting();
    } finally {
      this.flushing = false;
    }
  }

  private async writeWaiting(): Promise<void> {
    let stepsWritten = 0;
    while (this.waiting.length > 0 && !this.stopped) {
      const next = this.waiting[0] as Waiting;
      let stored: boolean;
      try {
        stored = await this.alarms().recordStep(next.step);
      } catch {
        this.failures += 1;
        return this.schedule();
      }
      this.waiting.shift();
      stepsWritten += 1;
      this.written(next.step, stored, next.push);
    }
    if (this.stopped) return;
    this.log.info({ steps: stepsWritten, retries: this.failures, dropped: this.dropped }, "alarm steps that waited for the store are stored");
    this.failures = 0;
    this.dropped = 0;
  }
}

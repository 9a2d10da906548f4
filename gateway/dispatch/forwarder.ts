/**
 * Forwards stored alerts to dispatch from the persisted outbox: no cap on attempts while undelivered,
 * exponential backoff with a capped delay, every attempt recorded. After a restart, whatever was
 * pending (or in flight when the process died) is sent again; dispatch dedupes by Idempotency-Key.
 * There is no periodic sweep: a timer is set for exactly the next due job.
 */
import type { Logger } from "pino";
import { type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { DispatchJob, GatewayStore } from "../store/store.js";
import type { DispatchSender } from "./webhook.js";

export interface ForwarderOptions {
  readonly retry: BackoffPolicy;
  readonly concurrency: number;
}

export class DispatchForwarder {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: GatewayStore,
    private readonly sender: DispatchSender,
    private readonly options: ForwarderOptions,
    private readonly bus: EventBus<GatewayEvents>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.wake();
  }

  /** Looks for due work now (called on start, on a new alert, and when a send finishes). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pump()
      .catch((err: unknown) => {
        this.log.error({ err }, "dispatch scheduling failed; retrying in 1 s");
        this.schedule(1_000);
      })
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops starting attempts; waits up to graceMs for those in flight, then aborts them (they stay pending). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const all = Promise.allSettled([...this.inflight.values()]);
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      graceTimer = setTimeout(resolve, graceMs);
    });
    await Promise.race([all, grace]);
    clearTimeout(graceTimer);
    if (this.inflight.size > 0) {
      this.log.warn({ inflight: this.inflight.size }, "aborting dispatch attempts still in flight: they stay pending and are retried at start");
      this.abort.abort();
      await all;
    }
  }

  private async pump(): Promise<void> {
    const free = this.options.concurrency - this.inflight.size;
    if (free > 0) {
      const busy = new Set(this.inflight.keys());
      const jobs = await this.store.dueDispatches(this.clock.now(), free, busy);
      for (const job of jobs) this.launch(job);
    }
    if (this.inflight.size >= this.options.concurrency) return; // a finishing send wakes us
    const next = await this.store.nextDispatchAt(new Set(this.inflight.keys()));
    if (next === null) return;
    this.schedule(next.getTime() - this.clock.now().getTime());
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
  }

  private launch(job: DispatchJob): void {
    const run = this.attempt(job).then(
      () => {
        this.inflight.delete(job.alertId);
        this.wake();
      },
      (err: unknown) => {
        // The store could not record the attempt (disk full, locked): the job stays due; back off
        // instead of spinning on it.
        this.inflight.delete(job.alertId);
        this.log.error({ err, alertId: job.alertId }, "could not record a dispatch attempt; retrying in 1 s");
        this.schedule(1_000);
      },
    );
    this.inflight.set(job.alertId, run);
  }

  private async attempt(job: DispatchJob): Promise<void> {
    const attempt = job.attempts + 1;
    const started = this.clock.now();
    const result = await this.sender.send(job, attempt, this.abort.signal);
    const finished = this.clock.now();
    const record = {
      alertId: job.alertId,
      attempt,
      startedAt: started.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      ok: result.ok,
      httpStatus: result.httpStatus,
      error: result.error,
    };
    const log = this.log.child({ alertId: job.alertId });
    if (result.ok) {
      await this.store.recordAttempt(record, null);
      log.info({ attempt, httpStatus: result.httpStatus, durationMs: record.durationMs }, "alert delivered to dispatch");
      this.bus.emit("alert.delivered", { alertId: job.alertId, attempt, httpStatus: result.httpStatus, deliveredAt: finished.toISOString() });
      return;
    }
    // Shutdown aborts are not the receiver's fault: try again at once after restart.
    const retryInMs = this.abort.signal.aborted ? 0 : backoffDelay(this.options.retry, attempt);
    await this.store.recordAttempt(record, new Date(finished.getTime() + retryInMs));
    const level = attempt === 1 || attempt % 10 === 0 ? "warn" : "info";
    log[level]({ attempt, error: result.error, retryInMs }, "dispatch attempt failed: will retry");
    this.bus.emit("dispatch.failed", { alertId: job.alertId, attempt, error: result.error ?? "unknown", retryInMs });
  }
}

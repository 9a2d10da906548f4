/**
 * Forwards the jobs of a persisted outbox to a receiver: no cap on attempts while undelivered,
 * exponential backoff with a capped delay, every attempt recorded. After a restart, whatever was
 * pending (or in flight when the process died) is sent again; the receiver dedupes by the job's id
 * (its Idempotency-Key). There is no periodic sweep: a timer is set for exactly the next due job.
 *
 * One implementation for every outbox (dispatch alerts, operations events): each gives its queue,
 * its sender, what to call on a delivery or a failure, and the words its log lines use.
 */
import type { Logger } from "pino";
import { type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import type { SendResult } from "./signed-post.js";

export interface ForwarderOptions {
  readonly retry: BackoffPolicy;
  readonly concurrency: number;
}

export interface OutboxJob {
  /** The idempotency key: an alertId, an eventId. */
  readonly id: string;
  readonly body: string;
  readonly attempts: number;
}

export interface OutboxAttempt {
  readonly id: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
}

/** The persisted side: a store's queries for one outbox. */
export interface OutboxQueue {
  /** Pending jobs whose next attempt is due, oldest first, excluding `busy` ones. */
  due(now: Date, limit: number, busy: ReadonlySet<string>): Promise<OutboxJob[]>;
  /** When the earliest pending job that is not `busy` is due, or null when none is. */
  nextAt(busy: ReadonlySet<string>): Promise<Date | null>;
  /** Records one attempt; `nextAttemptAt` null means delivered. */
  record(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void>;
}

export interface OutboxSender {
  send(job: OutboxJob, attempt: number, signal: AbortSignal): Promise<SendResult>;
}

export interface OutboxHooks {
  delivered?(job: OutboxJob, attempt: number, result: SendResult, finishedAt: Date): void;
  failed?(job: OutboxJob, attempt: number, error: string, retryInMs: number): void;
}

/** How this outbox names itself in logs: the id's field and the two outcome messages. */
export interface OutboxWords {
  /** "dispatch", "ops": used in the scheduling and shutdown messages. */
  readonly name: string;
  /** The log field the job id goes under: "alertId", "eventId". */
  readonly idField: string;
  readonly delivered: string;
  readonly failed: string;
}

export class OutboxForwarder {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly queue: OutboxQueue,
    private readonly sender: OutboxSender,
    private readonly options: ForwarderOptions,
    private readonly hooks: OutboxHooks,
    private readonly words: OutboxWords,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.wake();
  }

  /** Looks for due work now (called on start, on a new job, and when a send finishes). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pump()
      .catch((err: unknown) => {
        this.log.error({ err }, `${this.words.name} scheduling failed; retrying in 1 s`);
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
      this.log.warn({ inflight: this.inflight.size }, `aborting ${this.words.name} attempts still in flight: they stay pending and are retried at start`);
      this.abort.abort();
      await all;
    }
  }

  private async pump(): Promise<void> {
    const free = this.options.concurrency - this.inflight.size;
    if (free > 0) {
      const busy = new Set(this.inflight.keys());
      const jobs = await this.queue.due(this.clock.now(), free, busy);
      for (const job of jobs) this.launch(job);
    }
    if (this.inflight.size >= this.options.concurrency) return; // a finishing send wakes us
    const next = await this.queue.nextAt(new Set(this.inflight.keys()));
    if (next === null) return;
    this.schedule(next.getTime() - this.clock.now().getTime());
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
  }

  private launch(job: OutboxJob): void {
    const run = this.attempt(job).then(
      () => {
        this.inflight.delete(job.id);
        this.wake();
      },
      (err: unknown) => {
        // The store could not record the attempt (disk full, locked): the job stays due; back off
        // instead of spinning on it.
        this.inflight.delete(job.id);
        this.log.error({ err, [this.words.idField]: job.id }, `could not record a ${this.words.name} attempt; retrying in 1 s`);
        this.schedule(1_000);
      },
    );
    this.inflight.set(job.id, run);
  }

  private async attempt(job: OutboxJob): Promise<void> {
    const attempt = job.attempts + 1;
    const started = this.clock.now();
    const result = await this.sender.send(job, attempt, this.abort.signal);
    const finished = this.clock.now();
    const record: OutboxAttempt = {
      id: job.id,
      attempt,
      startedAt: started.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      ok: result.ok,
      httpStatus: result.httpStatus,
      error: result.error,
    };
    const log = this.log.child({ [this.words.idField]: job.id });
    if (result.ok) {
      await this.queue.record(record, null);
      log.info({ attempt, httpStatus: result.httpStatus, durationMs: record.durationMs }, this.words.delivered);
      this.hooks.delivered?.(job, attempt, result, finished);
      return;
    }
    // Shutdown aborts are not the receiver's fault: try again at once after restart.
    const retryInMs = this.abort.signal.aborted ? 0 : backoffDelay(this.options.retry, attempt);
    await this.queue.record(record, new Date(finished.getTime() + retryInMs));
    const level = attempt === 1 || attempt % 10 === 0 ? "warn" : "info";
    log[level]({ attempt, error: result.error, retryInMs }, this.words.failed);
    this.hooks.failed?.(job, attempt, result.error ?? "unknown", retryInMs);
  }
}

/**
 * Forwards the jobs of a persisted outbox to a receiver: no cap on attempts while undelivered,
 * exponential backoff with a capped delay, every attempt recorded. After a restart, whatever was
 * pending (or in flight when the process died) is sent again; the receiver dedupes by the job's id
 * (its Idempotency-Key). There is no periodic sweep: a timer is set for exactly the next due job.
 *
 * One implementation for every outbox (dispatch alerts, operations events): each gives its queue,
 * its sender, what to call on a delivery or a failure, and the words its log lines use.
 *
 * With `circuit` (dispatch), a failing receiver is probed with one job at a time, each probe another
 * job, on a short backoff of its own (circuit.ts) instead of each job backing off on its own for
 * minutes; a job the receiver refuses while it takes the others backs off alone (JobFailures).
 * An attempt the store cannot record (full disk) is kept in memory (unrecorded.ts): a delivered job
 * is not sent again while its record waits, and the record is written once the store can.
 */
import type { Logger } from "pino";
import { type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import { type CircuitOptions, JobFailures, ReceiverCircuit } from "./circuit.js";
import type { SendResult } from "./signed-post.js";
import { type UnrecordedAttempt, UnrecordedAttempts } from "./unrecorded.js";
import { leaseFor, PROCESS_OWNER } from "../store/claims.js";
import type { Claim, ClaimHolder } from "../store/store.js";
import { retriedFailureLevel } from "../../shared/errors.js";

export interface ForwarderOptions {
  readonly retry: BackoffPolicy;
  readonly concurrency: number;
  /** The receiver's timeout: a claim on a job lasts leaseFor(timeoutMs) (default 5 s). */
  readonly timeoutMs?: number;
  /** Who claims jobs in the store (default: this forwarder of this process, PROCESS_OWNER/n). */
  readonly claimOwner?: string;
  /** A circuit per receiver; without it every job backs off on its own (retry). */
  readonly circuit?: CircuitOptions;
}

/** Records of attempts that failed to be written are retried this often at first, doubling up to the max. */
const RECORD_RETRY = { minMs: 1_000, maxMs: 15_000, factor: 2, jitter: 0.2 } as const;

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
  /**
   * Claims pending jobs whose next attempt is due by `dueBy`, in the order they should go (oldest
   * first; the dispatch queue puts test alarms last), that no other process holds, excluding
   * `claim.busy`: the jobs this forwarder holds (in flight, or waiting for their record).
   */
  claim(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]>;
  /** When the earliest pending job not in `holder.busy` can be claimed, or null when none can. */
  nextAt(holder: ClaimHolder): Promise<Date | null>;
  /** Records one attempt and ends its claim; `nextAttemptAt` null means delivered. */
  record(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void>;
}

export interface OutboxSender {
  send(job: OutboxJob, attempt: number, signal: AbortSignal): Promise<SendResult>;
}

/** The receiver's circuit opened (its first failure) or closed (its first answer after). */
export interface CircuitChange {
  readonly state: "open" | "closed";
  /** When the outage's first failure finished. */
  readonly since: Date;
  readonly at: Date;
  readonly failures: number;
  readonly lastError: string;
}

export interface OutboxHooks {
  delivered?(job: OutboxJob, attempt: number, result: SendResult, finishedAt: Date): void;
  failed?(job: OutboxJob, attempt: number, error: string, retryInMs: number): void;
  circuit?(change: CircuitChange): void;
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

let forwarders = 0;

export class OutboxForwarder {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly circuit: ReceiverCircuit | undefined;
  private readonly failures = new JobFailures();
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly unrecorded = new UnrecordedAttempts();
  private recordTimer: NodeJS.Timeout | undefined;
  private recordRetries = 0;
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
  ) {
    this.circuit = options.circuit === undefined ? undefined : new ReceiverCircuit(options.circuit);
    // One owner per forwarder: two gateways in one process (tests, tools) never take each other's claims for their own.
    forwarders += 1;
    this.owner = options.claimOwner ?? `${PROCESS_OWNER}/${forwarders}`;
    this.leaseMs = leaseFor(options.timeoutMs ?? 5_000);
  }

  /** Whether the receiver's circuit is open (it is failing and being probed). */
  get circuitOpen(): boolean {
    return this.circuit?.open != null;
  }

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
        this.log[retriedFailureLevel(err)]({ err }, `${this.words.name} scheduling failed; retrying in 1 s`);
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

  /**
   * A claim to store a new job with (its store writes the job and the claim in one statement), when
   * this forwarder can start it at once; undefined when it cannot (stopped, receiver failing, all
   * slots busy): the job is then stored unclaimed and waits its turn in the queue.
   */
  claimForNew(): Claim | undefined {
    if (this.stopped || !this.slotFree()) return undefined;
    return { owner: this.owner, now: this.clock.now(), leaseMs: this.leaseMs };
  }

  /**
   * Starts a job stored with claimForNew()'s claim: no claim query, no look at the queue. If a slot
   * was taken meanwhile, the queue is looked at instead (the job is this forwarder's to claim again).
   */
  take(job: OutboxJob): void {
    if (this.stopped) return;
    if (!this.slotFree()) return this.wake();
    this.launch(job);
  }

  /** A job may start now: the receiver is not being probed and a slot is free. */
  private slotFree(): boolean {
    return this.circuit?.open == null && this.inflight.size < this.options.concurrency;
  }

  /** Stops starting attempts; waits up to graceMs for those in flight, then aborts them (they stay pending). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.recordTimer);
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
    if (this.unrecorded.size > 0 && !(await this.flushRecords())) {
      this.log.warn({ jobs: this.unrecorded.size }, `${this.words.name} attempts still not recorded at shutdown: their jobs are sent again at start (the receiver dedupes)`);
    }
  }

  /** The jobs not to start now: in flight, or waiting for their record (claimed by this forwarder). */
  private busy(nowMs: number): Set<string> {
    return new Set([...this.inflight.keys(), ...this.unrecorded.held(nowMs)]);
  }

  private async pump(): Promise<void> {
    const nowMs = this.clock.now().getTime();
    const open = this.circuit?.open ?? null;
    if (open !== null) {
      // The receiver is down: one probe at a time, no sooner than the circuit's own backoff says.
      if (this.inflight.size > 0) return; // a finishing send wakes us
      if (nowMs < open.nextProbeAt) return this.schedule(open.nextProbeAt - nowMs);
    }
    const horizon = new Date(this.circuit?.horizon(nowMs) ?? nowMs);
    const free = open !== null ? 1 : this.options.concurrency - this.inflight.size;
    if (free > 0) {
      const claim = (busy: Set<string>): Promise<OutboxJob[]> => this.queue.claim(horizon, free, { owner: this.owner, now: new Date(nowMs), leaseMs: this.leaseMs, busy });
      let jobs: OutboxJob[];
      if (open !== null && this.circuit !== undefined) {
        // Each probe another job: one the receiver refuses for itself does not hold the rest.
        jobs = await claim(new Set([...this.busy(nowMs), ...this.circuit.probed]));
        if (jobs.length === 0 && this.circuit.probed.size > 0) {
          this.circuit.nextRound();
          jobs = await claim(this.busy(nowMs));
        }
        for (const job of jobs) this.circuit.probing(job.id);
      } else jobs = await claim(this.busy(nowMs));
      for (const job of jobs) this.launch(job);
      if (open !== null && jobs.length > 0) return;
    }
    if (this.inflight.size >= this.options.concurrency) return; // a finishing send wakes us
    const next = await this.queue.nextAt({ owner: this.owner, busy: this.busy(nowMs) });
    const release = this.unrecorded.nextRelease(nowMs);
    const at = Math.min(next?.getTime() ?? Number.POSITIVE_INFINITY, release ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) return;
    this.schedule(at - nowMs);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
  }

  private launch(job: OutboxJob): void {
    // A job handed over (take) while a claim was on its way comes back from that claim too (it is
    // this forwarder's own): a job in flight is never started twice.
    if (this.inflight.has(job.id)) return;
    const run = this.attempt(job).then(
      () => {
        this.inflight.delete(job.id);
        this.wake();
      },
      (err: unknown) => {
        // Unexpected (attempt() keeps unrecorded attempts itself): back off instead of spinning.
        this.inflight.delete(job.id);
        this.log.error({ err, [this.words.idField]: job.id }, `${this.words.name} attempt failed unexpectedly; retrying in 1 s`);
        this.schedule(1_000);
      },
    );
    this.inflight.set(job.id, run);
  }

  private async attempt(job: OutboxJob): Promise<void> {
    const attempt = Math.max(job.attempts, this.unrecorded.lastAttempt(job.id)) + 1;
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
    // Shutdown aborts are not the receiver's fault: try again at once after restart.
    const aborted = !result.ok && this.abort.signal.aborted;
    let retryInMs = 0;
    if (!result.ok && !aborted) {
      retryInMs = this.circuit === undefined ? backoffDelay(this.options.retry, attempt) : this.failedWithCircuit(this.circuit, job.id, attempt, finished, result.error ?? "unknown");
    }
    if (result.ok) {
      this.failures.delivered(job.id);
      this.receiverAnswered(finished);
    }
    const next = result.ok ? null : new Date(finished.getTime() + retryInMs);
    const unrecorded: UnrecordedAttempt = { job, record, next, result, finishedAt: finished };
    if (this.unrecorded.lastAttempt(job.id) > 0) {
      // Earlier attempts of this job still wait for the store: keep the order, write them together.
      this.unrecorded.remember(unrecorded);
      this.scheduleRecords(0);
    } else {
      try {
        await this.queue.record(record, next);
      } catch (err) {
        this.unrecorded.remember(unrecorded);
        const inMs = this.scheduleRecords();
        const log = this.log.child({ [this.words.idField]: job.id });
        const what = result.ok ? "delivered; not sent again" : `failed; next attempt in ${retryInMs} ms`;
        log.error({ err, attempt, ok: result.ok, retryRecordInMs: inMs }, `could not record a ${this.words.name} attempt (${what}): kept in memory until the store can write`);
        return;
      }
      if (this.unrecorded.size > 0) this.scheduleRecords(0); // the store writes again
      this.recorded(unrecorded);
    }
    if (!result.ok) {
      const level = attempt === 1 || attempt % 10 === 0 ? "warn" : "info";
      this.log[level]({ [this.words.idField]: job.id, attempt, error: result.error, retryInMs }, this.words.failed);
      this.hooks.failed?.(job, attempt, result.error ?? "unknown", retryInMs);
    }
  }

  /** What follows a written record of a delivery. */
  private recorded(a: UnrecordedAttempt): void {
    if (!a.result.ok) return;
    this.log.info({ [this.words.idField]: a.job.id, attempt: a.record.attempt, httpStatus: a.result.httpStatus, durationMs: a.record.durationMs }, this.words.delivered);
    this.hooks.delivered?.(a.job, a.record.attempt, a.result, a.finishedAt);
  }

  /** A failed attempt's retry delay, with a circuit: the job's own backoff, or the receiver's probe delay. */
  private failedWithCircuit(circuit: ReceiverCircuit, id: string, attempt: number, at: Date, error: string): number {
    const own = this.failures.isOwn(id);
    this.failures.failed(id, own);
    if (!own) {
      circuit.probing(id); // tried in this outage: the next probe takes another job
      return this.receiverFailed(circuit, at, error);
    }
    // Past the backlog's drain after an outage, which would pull it forward again at once.
    const nowMs = at.getTime();
    return Math.max(backoffDelay(this.options.retry, attempt), circuit.horizon(nowMs) - nowMs + 1);
  }

  private receiverFailed(circuit: ReceiverCircuit, at: Date, error: string): number {
    const { retryInMs, opened } = circuit.failed(at, error);
    const open = circuit.open;
    if (opened && open !== null) {
      this.log.warn({ error, probeInMs: retryInMs }, `${this.words.name} receiver failing: probing it with one job at a time until it answers`);
      this.hooks.circuit?.({ state: "open", since: open.since, at, failures: open.failures, lastError: error });
    }
    return retryInMs;
  }

  private receiverAnswered(at: Date): void {
    const ended = this.circuit?.answered(at) ?? null;
    if (ended === null) return;
    const downMs = at.getTime() - ended.since.getTime();
    this.log.info({ downMs, failures: ended.failures }, `${this.words.name} receiver answers again: sending the backlog`);
    this.hooks.circuit?.({ state: "closed", since: ended.since, at, failures: ended.failures, lastError: ended.lastError });
  }

  /** Tries the waiting records again after `delayMs` (default: the next backoff step); returns the delay. */
  private scheduleRecords(delayMs?: number): number {
    const inMs = delayMs ?? backoffDelay(RECORD_RETRY, this.recordRetries + 1);
    clearTimeout(this.recordTimer);
    this.recordTimer = setTimeout(() => {
      this.flushRecords()
        .then((done) => {
          if (done) {
            this.recordRetries = 0;
            this.wake(); // failed jobs released from memory follow the store's schedule again
          } else if (!this.stopped) {
            this.recordRetries += 1;
            this.scheduleRecords();
          }
        })
        .catch((err: unknown) => this.log.error({ err }, `${this.words.name} records could not be retried`));
    }, inMs);
    return inMs;
  }

  private async flushRecords(): Promise<boolean> {
    const waiting = this.unrecorded.size;
    const done = await this.unrecorded.flush(
      (a) => this.queue.record(a.record, a.next),
      (a) => this.recorded(a),
    );
    if (done && waiting > 0) this.log.info({ jobs: waiting }, `${this.words.name} attempts kept in memory are recorded now`);
    return done;
  }
}

/**
 * A circuit per receiver (not per job): once the receiver fails (no answer, or any answer but 2xx:
 * a 503, but also a 500, a 401 after a secret changed, a 404 after a path changed), the forwarder
 * stops sending its backlog and probes it with one job at a time, on a short jittered backoff of
 * its own, each probe another job of the backlog (a job the receiver refuses for itself holds
 * nobody else's). The first delivery closes the circuit and the backlog drains at once, in the
 * queue's order, `concurrency` at a time: no job waits out a long backoff of its own after the
 * receiver is back. A job that fails while the receiver takes the others is that job's own
 * problem (forwarder.ts: JobFailures): it backs off on its own and leaves the circuit closed.
 */
import { type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";

export interface CircuitOptions {
  /** The first probe's delay after the receiver failed; doubles per failed probe up to probeMaxMs. */
  readonly probeMinMs: number;
  /** Cap on the delay between two probes (kept low: the backlog waits for the next probe). */
  readonly probeMaxMs: number;
  /** Fraction of each probe delay taken off at random (0..1). */
  readonly jitter: number;
}

export interface OpenCircuit {
  /** When the receiver's first failure of this outage finished. */
  readonly since: Date;
  /** Failed sends since then (the first failures, then the probes). */
  failures: number;
  lastError: string;
  /** No probe is sent before this (epoch ms). */
  nextProbeAt: number;
}

export class ReceiverCircuit {
  private state: OpenCircuit | null = null;
  /** Jobs probed in this outage: the next probe takes another, until each has had its turn. */
  private readonly probedJobs = new Set<string>();
  /** After a close: jobs backed off by the outage up to this instant are due at once (epoch ms). */
  private drainUntil = 0;

  constructor(
    private readonly options: CircuitOptions,
    private readonly random: () => number = Math.random,
  ) {}

  get open(): OpenCircuit | null {
    return this.state;
  }

  private get policy(): BackoffPolicy {
    return { minMs: this.options.probeMinMs, maxMs: this.options.probeMaxMs, factor: 2, jitter: this.options.jitter };
  }

  /**
   * The instant up to which backed-off jobs count as due. While open: the probe window (so the probe
   * is the queue's first job even if its own retry is a few ms later). Just after a close: the
   * outage's probe window, once (a job is pulled forward at most once per outage; no tight loop).
   */
  horizon(nowMs: number): number {
    if (this.state !== null) return nowMs + this.options.probeMaxMs;
    return Math.max(nowMs, this.drainUntil);
  }

  /** A receiver-level failure finished at `at`; returns the delay before the next probe (and the job's own retry). Opened: true when this failure opened the circuit. */
  failed(at: Date, error: string): { retryInMs: number; opened: boolean } {
    const opened = this.state === null;
    const state = this.state ?? { since: at, failures: 0, lastError: error, nextProbeAt: 0 };
    state.failures += 1;
    state.lastError = error;
    const retryInMs = backoffDelay(this.policy, state.failures, this.random);
    state.nextProbeAt = Math.max(state.nextProbeAt, at.getTime() + retryInMs);
    this.state = state;
    return { retryInMs, opened };
  }

  /** The jobs not to probe next (each probed once in this outage, until every job has been). */
  get probed(): ReadonlySet<string> {
    return this.probedJobs;
  }

  probing(id: string): void {
    this.probedJobs.add(id);
  }

  /** Every job of the backlog has been probed: the next round starts from the queue's head. */
  nextRound(): void {
    this.probedJobs.clear();
  }

  /** The receiver delivered a job at `at`: closes the circuit; returns the outage that ended, if one did. */
  answered(at: Date): OpenCircuit | null {
    const ended = this.state;
    if (ended === null) return null;
    this.state = null;
    this.probedJobs.clear();
    this.drainUntil = at.getTime() + this.options.probeMaxMs;
    return ended;
  }
}

/** Failing jobs remembered (those beyond are forgotten oldest first: their next failure counts for the receiver). */
const REMEMBERED_FAILURES = 10_000;

/**
 * Whose fault a failure is. A job that fails although the receiver has delivered another since this
 * job last failed (or that was already failing for itself), with no failure of the receiver since
 * its last delivery, is refused for itself (a body its parser rejects, a rate limit on one kiosk):
 * it backs off on its own and the circuit stays closed. Any other failure is the receiver's. A job's
 * first failure cannot tell: it opens the circuit, and the next probe, another job, closes it within
 * one probe delay if the receiver takes the others. Outcomes are ordered by a counter, not a clock:
 * two in one millisecond are still one before the other.
 */
export class JobFailures {
  private seq = 0;
  private lastDelivered = 0;
  /** No failure of the receiver since the last delivery. */
  private receiverOk = false;
  private readonly failures = new Map<string, { readonly seq: number; readonly own: boolean }>();

  isOwn(id: string): boolean {
    const previous = this.failures.get(id);
    return previous !== undefined && this.receiverOk && (previous.own || this.lastDelivered > previous.seq);
  }

  failed(id: string, own: boolean): void {
    this.seq += 1;
    this.failures.delete(id);
    this.failures.set(id, { seq: this.seq, own });
    if (this.failures.size > REMEMBERED_FAILURES) this.failures.delete(this.failures.keys().next().value as string);
    if (!own) this.receiverOk = false;
  }

  delivered(id: string): void {
    this.seq += 1;
    this.failures.delete(id);
    this.lastDelivered = this.seq;
    this.receiverOk = true;
  }
}

/**
 * A circuit per receiver (not per job): once the receiver fails as a whole (no answer, or an answer
 * that says it is down or overloaded), the forwarder stops sending its backlog and probes it with
 * one job at a time, on a short jittered backoff of its own. The first answer closes the circuit
 * and the backlog drains at once, in the queue's order, `concurrency` at a time: no job waits out a
 * long backoff of its own after the receiver is back.
 */
import { type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";
import type { SendResult } from "./signed-post.js";

export interface CircuitOptions {
  /** The first probe's delay after the receiver failed; doubles per failed probe up to probeMaxMs. */
  readonly probeMinMs: number;
  /** Cap on the delay between two probes (kept low: the backlog waits for the next probe). */
  readonly probeMaxMs: number;
  /** Fraction of each probe delay taken off at random (0..1). */
  readonly jitter: number;
}

/** HTTP answers that mean "the receiver (or the proxy in front of it) is down or overloaded", not "this job is wrong". */
const RECEIVER_DOWN_STATUSES = new Set([408, 429, 502, 503, 504]);

/** Whether a failed send says the receiver is down (no answer at all, or a down/overload status) rather than refusing one job. */
export function receiverIsDown(result: SendResult): boolean {
  if (result.ok) return false;
  return result.httpStatus === null || RECEIVER_DOWN_STATUSES.has(result.httpStatus);
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

  /** The receiver answered at `at`: closes the circuit; returns the outage that ended, if one did. */
  answered(at: Date): OpenCircuit | null {
    const ended = this.state;
    if (ended === null) return null;
    this.state = null;
    this.drainUntil = at.getTime() + this.options.probeMaxMs;
    return ended;
  }
}

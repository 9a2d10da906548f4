/**
 * The one retry helper: exponential backoff with a floor, a cap and jitter.
 * Used by the dispatch forwarder, the kiosk's reconnect loop and its resend loop.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly minMs: number;
  /** Cap on any delay. */
  readonly maxMs: number;
  /** Growth per attempt (2 doubles). */
  readonly factor: number;
  /** Fraction of the delay that may be taken off at random, 0..1 (0.2 = up to 20 % shorter). */
  readonly jitter: number;
}

export const defaultBackoff: BackoffPolicy = { minMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (1 = first retry). Never below 0, never above maxMs.
 * Jitter subtracts up to `jitter × delay`, so a fleet that failed together does not retry together.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const raw = policy.minMs * policy.factor ** (n - 1);
  const capped = Math.min(policy.maxMs, Number.isFinite(raw) ? raw : policy.maxMs);
  const jitter = capped * policy.jitter * random();
  return Math.max(0, Math.round(capped - jitter));
}

/** Counts attempts and hands out the next delay; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    this.attempt += 1;
    return backoffDelay(this.policy, this.attempt, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * Failed logins per address in a sliding window. Counted for the HTTP login and the MQTT WebSocket
 * alike, so the password cannot be guessed faster on one than on the other. A blocked address is
 * refused before any password is checked (no scrypt work for an attacker to cause). An attempt
 * counts as a failure from its start and is forgiven when it succeeds, so a burst of concurrent
 * guesses cannot slip past the limit while their scrypt runs.
 */
import type { Clock } from "../../shared/clock.js";

export class FailedLoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly maxAddresses = 10_000,
  ) {}

  /** 0 when the address may try; otherwise how long until it may try again. */
  retryAfterMs(address: string): number {
    const recent = this.recent(address);
    if (recent.length < this.maxFailures) return 0;
    const oldest = recent[recent.length - this.maxFailures] ?? 0;
    return Math.max(1, oldest + this.windowMs - this.clock.now().getTime());
  }

  fail(address: string): void {
    const recent = this.recent(address);
    recent.push(this.clock.now().getTime());
    this.failures.delete(address);
    if (this.failures.size >= this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(address, recent.slice(-this.maxFailures));
  }

  /** Takes back one failure (an attempt counted up front, before its password check, succeeded). */
  forgive(address: string): void {
    const recent = this.recent(address);
    recent.pop();
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
  }

  private recent(address: string): number[] {
    const since = this.clock.now().getTime() - this.windowMs;
    const kept = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(address);
    return kept;
  }
}

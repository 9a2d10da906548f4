/**
 * Failed logins per address in a sliding window. Counted for the HTTP login and the MQTT WebSocket
 * alike, so the password cannot be guessed faster on one than on the other. A blocked address is
 * refused before any password is checked (no scrypt work for an attacker to cause). An attempt
 * counts as a failure from its start and is forgiven when it succeeds, so a burst of concurrent
 * guesses cannot slip past the limit while their scrypt runs.
 */
import { isIPv6 } from "node:net";
import type { Clock } from "../../shared/clock.js";

/**
 * The key an address is limited by: an IPv4 address as it is (an IPv4-mapped IPv6 one too), an IPv6
 * address by its /64 — one subscriber's prefix, inside which an attacker can pick any address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address.split("%")[0] ?? "")) return address;
  const bare = (address.split("%")[0] ?? "").toLowerCase();
  const [head = "", tail] = bare.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

export class FailedLoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly maxAddresses = 10_000,
  ) {}

  /** 0 when the address may try; otherwise how long until it may try again. */
  retryAfterMs(ip: string): number {
    const address = addressKey(ip);
    const recent = this.recent(address);
    if (recent.length < this.maxFailures) return 0;
    const oldest = recent[recent.length - this.maxFailures] ?? 0;
    return Math.max(1, oldest + this.windowMs - this.clock.now().getTime());
  }

  fail(ip: string): void {
    const address = addressKey(ip);
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
  forgive(ip: string): void {
    const address = addressKey(ip);
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

export interface AccountSlowdownOptions {
  /** Failures in the window that cost nothing. */
  readonly freeFailures: number;
  /** The first slowed attempt waits this; each further failure doubles it… */
  readonly baseDelayMs: number;
  /** …up to this. */
  readonly maxDelayMs: number;
  readonly windowMs: number;
}

/**
 * Failed logins per account (an operator name, known or not, from any address): past
 * `freeFailures` in the window, each attempt on the account waits before its password is checked,
 * twice as long per further failure, up to `maxDelayMs`, while guesses spread over many addresses
 * (which the per-address limit cannot see) each cost the wait. Attempts count from their start and
 * a success clears the account.
 *
 * Slowed attempts are checked one after another: an attempt that comes while another waits waits
 * for it and then its own delay; one that would wait longer than `maxDelayMs` is refused at once
 * (`refusedForMs`: try again then). Without that, guesses sent in parallel would all wait at once,
 * and the slowdown would bound nothing. The operator's own browser is not held up by a guesser: a
 * login that shows the account's known-device cookie is not slowed (auth.ts).
 */
export type SlowdownVerdict = { readonly waitMs: number } | { readonly refusedForMs: number };

export class AccountSlowdown {
  private readonly failures = new Map<string, number[]>();
  /** When the account's last slowed attempt that is still waiting gets its check (epoch ms). */
  private readonly queuedUntil = new Map<string, number>();

  constructor(
    private readonly options: AccountSlowdownOptions,
    private readonly clock: Clock,
    private readonly maxAccounts = 10_000,
  ) {}

  /** Counts an attempt on `account` as a failure (until forgiven); says how long it must wait first, or that it is refused now (not counted). */
  attempt(account: string): SlowdownVerdict {
    const now = this.clock.now().getTime();
    const recent = this.recent(account);
    const over = recent.length - this.options.freeFailures;
    const own = over < 0 ? 0 : Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over, 30));
    const queued = Math.max(0, (this.queuedUntil.get(account) ?? 0) - now);
    if (own > 0 && queued + own > this.options.maxDelayMs) return { refusedForMs: Math.max(1, queued) };
    const delay = own === 0 ? 0 : queued + own;
    if (delay > 0) this.queuedUntil.set(account, now + delay);
    recent.push(now);
    this.failures.delete(account);
    if (this.failures.size >= this.maxAccounts) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(account, recent.slice(-64));
    if (this.queuedUntil.size > this.maxAccounts) {
      for (const [key, until] of this.queuedUntil) if (until <= now) this.queuedUntil.delete(key);
    }
    return { waitMs: delay };
  }

  /** The password was right: the account's failures are forgotten. */
  succeeded(account: string): void {
    this.failures.delete(account);
    this.queuedUntil.delete(account);
  }

  private recent(account: string): number[] {
    const since = this.clock.now().getTime() - this.options.windowMs;
    return (this.failures.get(account) ?? []).filter((t) => t > since);
  }
}

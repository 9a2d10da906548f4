import { describe, expect, it } from "vitest";
import { Backoff, type BackoffPolicy, backoffDelay } from "../../shared/backoff.js";

const noJitter: BackoffPolicy = { minMs: 100, maxMs: 10_000, factor: 2, jitter: 0 };
const maxRandom = (): number => 0.999_999;
const zeroRandom = (): number => 0;

describe("backoffDelay", () => {
  it("starts at minMs and grows by factor per attempt", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(noJitter, n, zeroRandom))).toEqual([100, 200, 400, 800, 1_600]);
    const triple: BackoffPolicy = { minMs: 10, maxMs: 1_000_000, factor: 3, jitter: 0 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(triple, n, zeroRandom))).toEqual([10, 30, 90, 270]);
  });

  it("treats attempts below 1 as the first retry", () => {
    expect(backoffDelay(noJitter, 0, zeroRandom)).toBe(100);
    expect(backoffDelay(noJitter, -5, zeroRandom)).toBe(100);
  });

  it("never exceeds maxMs, also for attempt 1000 where the raw delay overflows to Infinity", () => {
    for (let n = 1; n <= 60; n += 1) expect(backoffDelay(noJitter, n, zeroRandom)).toBeLessThanOrEqual(10_000);
    expect(backoffDelay(noJitter, 8, zeroRandom)).toBe(10_000);
    expect(backoffDelay(noJitter, 1_000, zeroRandom)).toBe(10_000);
    expect(backoffDelay(noJitter, 1_000, Math.random)).toBeLessThanOrEqual(10_000);
    expect(Number.isFinite(backoffDelay(noJitter, 1_000, Math.random))).toBe(true);
  });

  it("jitter only shortens the delay, by at most jitter × delay", () => {
    const jittery: BackoffPolicy = { ...noJitter, jitter: 0.25 };
    for (const attempt of [1, 3, 7, 20, 1_000]) {
      const full = backoffDelay(noJitter, attempt, zeroRandom);
      expect(backoffDelay(jittery, attempt, zeroRandom)).toBe(full);
      const shortest = backoffDelay(jittery, attempt, maxRandom);
      expect(shortest).toBeLessThan(full);
      expect(shortest).toBeGreaterThanOrEqual(Math.floor(full * 0.75));
      for (let i = 0; i < 50; i += 1) {
        const d = backoffDelay(jittery, attempt);
        expect(d).toBeLessThanOrEqual(full);
        expect(d).toBeGreaterThanOrEqual(Math.floor(full * 0.75));
      }
    }
  });

  it("a jitter of 1 can shorten down to 0 but never below", () => {
    const policy: BackoffPolicy = { ...noJitter, jitter: 1 };
    expect(backoffDelay(policy, 1, () => 1)).toBe(0);
    expect(backoffDelay(policy, 1, maxRandom)).toBeGreaterThanOrEqual(0);
  });
});

describe("Backoff", () => {
  it("hands out growing delays and counts attempts", () => {
    const b = new Backoff(noJitter, zeroRandom);
    expect(b.attempts).toBe(0);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    expect(b.attempts).toBe(3);
  });

  it("stays at maxMs once reached", () => {
    const b = new Backoff(noJitter, zeroRandom);
    const delays = Array.from({ length: 1_000 }, () => b.next());
    expect(Math.max(...delays)).toBe(10_000);
    expect(delays.at(-1)).toBe(10_000);
  });

  it("reset() starts again from minMs", () => {
    const b = new Backoff(noJitter, zeroRandom);
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
    expect(b.attempts).toBe(1);
  });
});

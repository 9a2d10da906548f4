import { afterEach, describe, expect, it, vi } from "vitest";
import { ReconnectPolicy, reconnectDelay } from "../../device/link/reconnect-policy.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";

/** The production reconnect policy (kiosk.json without a reconnect section). */
const production = parseKioskConfig({
  version: 1,
  kioskId: "kz-test-0001",
  location: { lat: 43.2, lon: 76.9, address: "test" },
  mqtt: { url: "mqtt://127.0.0.1:1883", username: "kz-test-0001", password: "secret" },
}).reconnect;

/** A seeded generator, so the spread checks do not depend on luck. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("reconnect delays", () => {
  it("an idle kiosk backs off to a minute, as before", () => {
    const policy = new ReconnectPolicy(production, () => 0);
    const delays = Array.from({ length: 10 }, () => policy.next(false));
    expect(delays.slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
    expect(delays.at(-1)).toBe(60_000);
  });

  it("a kiosk holding an SOS alert never waits longer than urgentMaxMs (3 s by default), however long the link has been down", () => {
    expect(production.urgentMaxMs).toBe(3_000);
    const policy = new ReconnectPolicy(production, seeded(1));
    for (let i = 0; i < 20; i += 1) policy.next(false); // a long outage while idle: the idle wait is a minute
    for (let i = 0; i < 1_000; i += 1) expect(policy.next(true)).toBeLessThanOrEqual(3_000);
    expect(reconnectDelay(production, 1_000, true, () => 0)).toBe(3_000);
  });

  it("the urgent waits are spread over the whole window (full jitter), so a fleet does not return in one burst", () => {
    const random = seeded(7);
    const delays = Array.from({ length: 20_000 }, () => reconnectDelay(production, 10, true, random));
    const buckets = [0, 0, 0, 0, 0, 0];
    for (const d of delays) buckets[Math.min(5, Math.floor(d / 500))]! += 1;
    // 20 000 kiosks: about 3 333 per half second, none of the six half seconds crowded or empty.
    for (const n of buckets) {
      expect(n).toBeGreaterThan(2_800);
      expect(n).toBeLessThan(3_900);
    }
    expect(Math.min(...delays)).toBeLessThan(50);
  });

  it("the cap follows a lower maxMs (test configs) and the first tries start small", () => {
    const fast = { ...production, minMs: 100, maxMs: 500 };
    for (let attempt = 1; attempt < 50; attempt += 1) expect(reconnectDelay(fast, attempt, true)).toBeLessThanOrEqual(500);
    expect(reconnectDelay(production, 1, true, () => 0)).toBe(1_000);
    expect(new ReconnectPolicy(fast).urgentMaxMs).toBe(500);
  });

  it("reset() starts again from minMs", () => {
    const policy = new ReconnectPolicy(production, () => 0);
    policy.next(false);
    policy.next(false);
    policy.reset();
    expect(policy.attempts).toBe(0);
    expect(policy.next(false)).toBe(1_000);
  });
});

describe("a press during a long wait", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs a pending try further off than the urgent cap at once, and leaves a shorter one alone", () => {
    vi.useFakeTimers();
    const policy = new ReconnectPolicy(production);
    let tries = 0;
    policy.schedule(48_000, () => (tries += 1));
    vi.advanceTimersByTime(10_000);
    expect(policy.hurry()).toBe(38_000);
    vi.advanceTimersByTime(0);
    expect(tries).toBe(1);
    expect(policy.hurry()).toBeUndefined(); // nothing pending any more

    policy.schedule(2_500, () => (tries += 1));
    expect(policy.hurry()).toBeUndefined(); // within the cap: the jittered wait stands
    vi.advanceTimersByTime(2_499);
    expect(tries).toBe(1);
    vi.advanceTimersByTime(1);
    expect(tries).toBe(2);
  });

  it("cancel() drops the pending try", () => {
    vi.useFakeTimers();
    const policy = new ReconnectPolicy(production);
    let tries = 0;
    policy.schedule(1_000, () => (tries += 1));
    policy.cancel();
    vi.advanceTimersByTime(60_000);
    expect(tries).toBe(0);
    expect(policy.hurry()).toBeUndefined();
  });
});

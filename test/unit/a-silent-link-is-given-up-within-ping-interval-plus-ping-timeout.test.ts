import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PingProbe } from "../../device/link/ping-probe.js";

const INTERVAL = 5_000;
const TIMEOUT = 5_000;

function probe(): { probe: PingProbe; pings: number[]; dead: number[] } {
  const pings: number[] = [];
  const dead: number[] = [];
  const p = new PingProbe(
    { intervalMs: INTERVAL, timeoutMs: TIMEOUT },
    () => pings.push(Date.now()),
    (waited) => dead.push(waited),
    () => Date.now(),
  );
  return { probe: p, pings, dead };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("a silent link is given up within ping interval + ping timeout", () => {
  it("a gateway that stops answering at any moment is given up at most interval + timeout later", () => {
    for (const diesAt of [0, 1, 2_500, 4_999, 5_000, 7_300, 9_999]) {
      vi.setSystemTime(0);
      const { probe: p, dead } = probe();
      p.start();
      // Answers every ping until it dies.
      let alive = true;
      const answer = setInterval(() => alive && p.heard(), 10);
      setTimeout(() => (alive = false), diesAt);
      vi.advanceTimersByTime(diesAt);
      const deadline = Date.now() + INTERVAL + TIMEOUT;
      while (dead.length === 0 && Date.now() <= deadline + 1_000) vi.advanceTimersByTime(100);
      expect(dead, `died at ${diesAt} ms`).toHaveLength(1);
      expect(Date.now(), `died at ${diesAt} ms`).toBeLessThanOrEqual(deadline);
      clearInterval(answer);
      p.stop();
    }
  });

  it("pings go out at most interval apart, and a heartbeat's ping puts the next probe back", () => {
    const { probe: p, pings } = probe();
    p.start();
    vi.advanceTimersByTime(INTERVAL);
    expect(pings).toEqual([INTERVAL]);
    p.heard();
    vi.advanceTimersByTime(3_000);
    p.pinged(); // a heartbeat carried a ping at 8 s
    p.heard();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(pings).toEqual([INTERVAL]);
    vi.advanceTimersByTime(1);
    expect(pings).toEqual([INTERVAL, 8_000 + INTERVAL]);
    p.stop();
  });

  it("a link that keeps answering is never given up, even when a ping's answer is slow", () => {
    const { probe: p, dead, pings } = probe();
    p.start();
    for (let t = 0; t < 60_000; t += 1_000) {
      vi.advanceTimersByTime(1_000);
      // Each ping is answered 4.9 s after it went out.
      if (pings.length > 0 && Date.now() - pings.at(-1)! === 4_000) setTimeout(() => p.heard(), 900);
    }
    expect(pings.length).toBeGreaterThanOrEqual(10);
    expect(dead).toEqual([]);
    p.stop();
  });

  it("a later ping does not push back the deadline of an older unanswered one", () => {
    const { probe: p, dead } = probe();
    p.start();
    vi.advanceTimersByTime(INTERVAL); // probe ping at 5 s, never answered
    vi.advanceTimersByTime(4_000);
    p.pinged(); // a heartbeat's ping at 9 s
    vi.advanceTimersByTime(1_000);
    expect(dead).toEqual([TIMEOUT]);
  });

  it("after stop nothing is sent and nothing is given up", () => {
    const { probe: p, dead, pings } = probe();
    p.start();
    p.stop();
    vi.advanceTimersByTime(60_000);
    expect(pings).toEqual([]);
    expect(dead).toEqual([]);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type PressKind, PressRules } from "../../device/press/press-rules.js";
import { systemClock } from "../../shared/clock.js";
import type { PressConfig } from "../../shared/config/kiosk.js";

type RulesConfig = Pick<PressConfig, "debounceMs" | "minHoldMs" | "bypassHoldMs">;

const T0 = new Date("2025-01-02T03:00:00.000Z").getTime();
const defaults: RulesConfig = { debounceMs: 20, minHoldMs: 0, bypassHoldMs: 30_000 };

describe("PressRules", () => {
  let presses: { kind: PressKind; at: number; firedAt: number }[];
  let rules: PressRules | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    presses = [];
    rules = undefined;
  });

  afterEach(() => {
    rules?.stop();
    vi.useRealTimers();
  });

  /** Rules over the faked clock (systemClock follows the faked Date) that record every press. */
  const make = (config: Partial<RulesConfig> = {}): PressRules => {
    rules = new PressRules({ ...defaults, ...config }, systemClock, (kind, at) => presses.push({ kind, at: at.getTime(), firedAt: Date.now() }));
    return rules;
  };
  const kinds = (): PressKind[] => presses.map((p) => p.kind);
  const advance = (ms: number): void => {
    vi.advanceTimersByTime(ms);
  };

  it("contact bounce: several edges within debounceMs give one press (and the bouncing release none)", () => {
    const r = make();
    r.down();
    advance(3);
    r.up();
    advance(4);
    r.down();
    advance(2);
    r.up();
    advance(5);
    r.down(); // the contact finally stays closed
    advance(19);
    expect(presses).toEqual([]);
    advance(1);
    expect(kinds()).toEqual(["press"]);
    advance(1_000);
    r.up();
    advance(2);
    r.down();
    advance(3);
    r.up();
    advance(5_000);
    expect(kinds()).toEqual(["press"]);
    expect(r.isHeld).toBe(false);
  });

  it("a press counts only once the contact has been stable for debounceMs; a spike shorter than that is no press", () => {
    const r = make();
    r.down();
    advance(10);
    r.up(); // a 10 ms spike on the line
    advance(1_000);
    expect(presses).toEqual([]);
    expect(r.isHeld).toBe(false);

    const edge = Date.now();
    r.down();
    advance(19);
    expect(presses).toEqual([]);
    expect(r.isHeld).toBe(false);
    advance(1);
    expect(presses).toEqual([{ kind: "press", at: edge, firedAt: edge + 20 }]);
    expect(r.isHeld).toBe(true);
  });

  it("minHoldMs: a tap shorter than it is ignored", () => {
    const r = make({ minHoldMs: 500 });
    r.down();
    advance(100);
    r.up();
    advance(10_000);
    expect(presses).toEqual([]);
  });

  it("minHoldMs: a tap released 1 ms before it is ignored, even while that release is still settling", () => {
    const r = make({ minHoldMs: 500 });
    r.down();
    advance(499);
    r.up(); // the hold time runs out during this release's debounce window
    advance(10_000);
    expect(presses).toEqual([]);
  });

  it("minHoldMs: a hold at least that long counts once, at the time of the edge", () => {
    const r = make({ minHoldMs: 500 });
    const edge = Date.now();
    r.down();
    advance(499);
    expect(presses).toEqual([]);
    advance(1);
    expect(presses).toEqual([{ kind: "press", at: edge, firedAt: edge + 500 }]);
    advance(1_000);
    r.up();
    advance(10_000);
    expect(kinds()).toEqual(["press"]);
  });

  it("minHoldMs: a contact that bounces open just as the hold time runs out, then stays closed, still counts", () => {
    const r = make({ minHoldMs: 500 });
    const edge = Date.now();
    r.down();
    advance(499);
    r.up(); // still open when the hold time runs out
    advance(6);
    r.down(); // it was a bounce: the finger never let go
    advance(100);
    expect(presses).toEqual([expect.objectContaining({ kind: "press", at: edge })]);
    advance(60_000);
    expect(kinds()).toEqual(["press", "bypass"]);
  });

  it("minHoldMs: the edge time reported by the driver counts, not the time the rules heard of it", () => {
    const r = make({ minHoldMs: 500 });
    const edge = Date.now() - 400; // a driver that reports its edges late
    r.down(new Date(edge));
    advance(99);
    expect(presses).toEqual([]);
    advance(1);
    expect(presses).toEqual([{ kind: "press", at: edge, firedAt: edge + 500 }]);
  });

  it("bypass fires once at bypassHoldMs of holding, measured from the edge, and not again for the same hold", () => {
    const r = make();
    const edge = Date.now();
    r.down();
    advance(29_999);
    expect(kinds()).toEqual(["press"]);
    advance(1);
    expect(kinds()).toEqual(["press", "bypass"]);
    expect(presses[1]).toEqual({ kind: "bypass", at: edge + 30_000, firedAt: edge + 30_000 });
    advance(10 * 60_000);
    expect(kinds()).toEqual(["press", "bypass"]);
    r.up();
    advance(60_000);
    expect(kinds()).toEqual(["press", "bypass"]);
  });

  it("bypass is measured from the edge the driver reported, not from the end of the debounce", () => {
    const r = make({ debounceMs: 200 });
    const edge = Date.now() - 1_000;
    r.down(new Date(edge));
    advance(28_999);
    expect(kinds()).toEqual(["press"]);
    advance(1);
    expect(kinds()).toEqual(["press", "bypass"]);
    expect(presses[1]?.firedAt).toBe(edge + 30_000);
  });

  it("a release before bypassHoldMs cancels the bypass", () => {
    const r = make();
    r.down();
    advance(20_000);
    r.up();
    advance(10 * 60_000);
    expect(kinds()).toEqual(["press"]);
  });

  it("a release 10 ms before bypassHoldMs cancels the bypass, even while that release is still settling", () => {
    const r = make();
    r.down();
    advance(29_990);
    r.up();
    advance(10 * 60_000);
    expect(kinds()).toEqual(["press"]);
  });

  it("a contact that bounces open just as bypassHoldMs runs out, while the person keeps holding, still gets the bypass", () => {
    const r = make();
    r.down();
    advance(29_995);
    r.up();
    advance(10);
    r.down();
    advance(1_000);
    expect(kinds()).toEqual(["press", "bypass"]);
  });

  it("each new hold gets its own bypass", () => {
    const r = make();
    r.down();
    advance(31_000);
    r.up();
    advance(1_000);
    r.down();
    advance(31_000);
    expect(kinds()).toEqual(["press", "bypass", "press", "bypass"]);
  });

  it("a stuck button (down forever) gives exactly one press and one bypass", () => {
    const r = make();
    r.down();
    advance(24 * 60 * 60_000);
    expect(kinds()).toEqual(["press", "bypass"]);
    expect(r.isHeld).toBe(true);
  });

  it("a stuck button with minHoldMs gives exactly one press and one bypass", () => {
    const r = make({ minHoldMs: 2_000 });
    r.down();
    advance(24 * 60 * 60_000);
    expect(kinds()).toEqual(["press", "bypass"]);
  });

  it("debounceMs 0 acts on the edge at once", () => {
    const r = make({ debounceMs: 0 });
    const edge = Date.now();
    r.down();
    expect(presses).toEqual([{ kind: "press", at: edge, firedAt: edge }]);
    expect(r.isHeld).toBe(true);
    r.up();
    expect(r.isHeld).toBe(false);
    r.down();
    expect(kinds()).toEqual(["press", "press"]);
  });

  it("ten quick presses, each held longer than the debounce, are ten presses", () => {
    const r = make();
    for (let i = 0; i < 10; i += 1) {
      r.down();
      advance(40);
      r.up();
      advance(40);
    }
    advance(60_000);
    expect(kinds()).toEqual(Array<PressKind>(10).fill("press"));
  });

  it("a repeated edge of the same level (a driver that reports down twice) is not a second press", () => {
    const r = make();
    r.down();
    advance(50);
    r.down();
    advance(50);
    r.up();
    advance(60_000);
    expect(kinds()).toEqual(["press"]);
  });

  it("stop() cancels what is pending: no press and no bypass after it", () => {
    const r = make({ minHoldMs: 500 });
    r.down();
    advance(10);
    r.stop();
    advance(60_000);
    expect(presses).toEqual([]);
  });
});

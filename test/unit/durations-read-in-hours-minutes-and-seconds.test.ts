/**
 * `sos cluster status` shows durations as a duty officer reads them: the two largest whole units
 * (`22 h 55 min`, `2 min 40 s`, `12 s`), a zero unit left out, never a raw count of seconds.
 */
import { describe, expect, it } from "vitest";
import { ago, formatDuration } from "../../scripts/lib/duration.js";

const s = 1_000;
const min = 60 * s;
const h = 60 * min;
const d = 24 * h;

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [400, "0 s"],
    [600, "1 s"],
    [12 * s, "12 s"],
    [59 * s, "59 s"],
    [60 * s, "1 min"],
    [160 * s, "2 min 40 s"],
    [59 * min + 59 * s, "59 min 59 s"],
    [h, "1 h"],
    [h + 59 * s, "1 h"],
    [h + min, "1 h 1 min"],
    [82_507 * s, "22 h 55 min"],
    [d, "1 d"],
    [d + 59 * min, "1 d"],
    [3 * d + 4 * h + 5 * min + 6 * s, "3 d 4 h"],
    [400 * d, "400 d"],
  ])("%d ms reads '%s'", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("cuts the smaller unit rather than rounding it up: 2 h 59 min 59 s is 2 h 59 min, not 3 h", () => {
    expect(formatDuration(3 * h - s)).toBe("2 h 59 min");
  });

  it("reads a negative duration (a clock a little ahead of ours) or a non-number as 0 s", () => {
    expect(formatDuration(-5 * s)).toBe("0 s");
    expect(formatDuration(Number.NaN)).toBe("0 s");
  });

  it("ago: how long before now a moment was", () => {
    const now = Date.UTC(2026, 0, 1, 3, 0, 0);
    expect(ago(now - 160 * s, now)).toBe("2 min 40 s ago");
    expect(ago(now - 12 * s, now)).toBe("12 s ago");
    expect(ago(now + 2 * s, now)).toBe("0 s ago");
  });
});

/** Rollout planning: --to all|N%|region:NAME, waves of about 5 %, 25 %, then the rest, in an order stable per release. */
import { describe, expect, it } from "vitest";
import { parseTarget, planWaves } from "../../gateway/releases/rollout.js";
import { isSosError } from "../../shared/errors.js";

const fleet = Array.from({ length: 100 }, (_, i) => ({ kioskId: `kz-${String(i).padStart(3, "0")}`, region: i < 40 ? "Almaty" : "Astana" }));

describe("rollout waves grow from a few kiosks to the rest", () => {
  it("all: 5, 25, then 70 kiosks, each once, in an order stable for the release and different for another", () => {
    const waves = planWaves("1.1.0", fleet, parseTarget("all"));
    expect(waves.map((w) => w.length)).toEqual([5, 25, 70]);
    expect(new Set(waves.flat()).size).toBe(100);
    expect(planWaves("1.1.0", [...fleet].reverse(), parseTarget("all"))).toEqual(waves);
    expect(planWaves("1.2.0", fleet, parseTarget("all"))[0]).not.toEqual(waves[0]);
  });

  it("a share of the fleet, and a region", () => {
    expect(planWaves("1.1.0", fleet, parseTarget("10%")).map((w) => w.length)).toEqual([1, 3, 6]);
    const almaty = planWaves("1.1.0", fleet, parseTarget("region:Almaty"));
    expect(almaty.map((w) => w.length)).toEqual([2, 10, 28]);
    expect(almaty.flat().every((id) => Number(id.slice(3)) < 40)).toBe(true);
    expect(planWaves("1.1.0", fleet.slice(0, 1), parseTarget("all"))).toEqual([["kz-000"]]);
    expect(planWaves("1.1.0", fleet, parseTarget("region:Shymkent"))).toEqual([]);
  });

  it("refuses a target it cannot read, saying what it takes", () => {
    for (const bad of ["0%", "150%", "half", "region:"]) {
      let err: unknown;
      try {
        parseTarget(bad);
      } catch (e) {
        err = e;
      }
      expect(isSosError(err, "ARGUMENT_INVALID"), bad).toBe(true);
    }
  });
});

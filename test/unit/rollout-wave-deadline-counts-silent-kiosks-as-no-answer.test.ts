/**
 * A kiosk that never answers does not hold its wave forever: once the wave's deadline passes, the
 * kiosks of it that have not reported are counted as "no answer" (not failures) and the next wave is
 * offered. Time is a fake clock; the store is a real SQLite store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nextStep, parseDuration, RolloutRunner } from "../../gateway/releases/rollout.js";
import type { RolloutRecord } from "../../gateway/store/release-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { UpdateReport } from "../../shared/health.js";
import { registered } from "../contracts/gateway-store-fixtures.js";
import { LogCapture } from "../fixtures/log-capture.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-12-01T00:00:00.000Z");
const at = (ms: number): Date => new Date(T0 + ms);
const confirmed = (version: string): UpdateReport => ({ phase: "confirmed", current: version, target: null, failed: null, reason: null, at: at(0).toISOString() });
const rolledBack = (version: string): UpdateReport => ({ phase: "rolled-back", current: "1.0.0", target: null, failed: version, reason: "stuck button", at: at(0).toISOString() });

const rollout = (over: Partial<RolloutRecord> = {}): RolloutRecord => ({
  version: "2.0.0",
  target: "all",
  releaseUrl: "https://gw",
  waves: [["k1", "k2"], ["k3"]],
  wave: 0,
  offeredWave: 0,
  state: "running",
  reason: null,
  waveDeadlineMs: 24 * HOUR,
  waveOfferedAt: at(0).toISOString(),
  noAnswer: [],
  createdAt: at(0).toISOString(),
  updatedAt: at(0).toISOString(),
  ...over,
});

describe("a rollout wave's deadline counts silent kiosks as no answer", () => {
  it("before the deadline the wave waits; after it, the silent kiosks are no answer and the next wave is offered", () => {
    const reports = new Map([["k1", confirmed("2.0.0")]]);
    expect(nextStep(rollout(), reports, at(23 * HOUR)).progress).toMatchObject({ wave: 0, state: "running", noAnswer: [] });
    expect(nextStep(rollout(), reports, at(23 * HOUR)).offer).toBeUndefined();
    const after = nextStep(rollout(), reports, at(24 * HOUR));
    expect(after.progress).toMatchObject({ wave: 1, offeredWave: 1, state: "running", noAnswer: ["k2"], waveOfferedAt: at(24 * HOUR).toISOString(), reason: null });
    expect(after.offer).toEqual(["k3"]);
    // The last wave's deadline: done, with both silent kiosks counted.
    const last = nextStep(rollout({ ...after.progress }), reports, at(48 * HOUR));
    expect(last.progress).toMatchObject({ state: "done", noAnswer: ["k2", "k3"] });
  });

  it("a rolled-back kiosk still halts the rollout, even one counted as no answer that answers late", () => {
    expect(nextStep(rollout(), new Map([["k2", rolledBack("2.0.0")]]), at(25 * HOUR)).progress).toMatchObject({ state: "halted" });
    const later = rollout({ wave: 1, offeredWave: 1, noAnswer: ["k2"] });
    expect(nextStep(later, new Map([["k2", rolledBack("2.0.0")]]), at(25 * HOUR)).progress).toMatchObject({ state: "halted", reason: expect.stringMatching(/k2 rolled 2\.0\.0 back/) as unknown });
  });

  it("a rollout started before deadlines existed gets its deadline from the first check", () => {
    const old = rollout({ waveOfferedAt: null });
    expect(nextStep(old, new Map(), at(100 * HOUR)).progress).toMatchObject({ wave: 0, waveOfferedAt: at(100 * HOUR).toISOString(), noAnswer: [] });
  });

  it("--wave-deadline takes 30m, 24h, 2d; refuses less than a minute or text it cannot read", () => {
    expect([parseDuration("30m"), parseDuration("24h"), parseDuration("2d"), parseDuration("90s")]).toEqual([30 * 60_000, 24 * HOUR, 48 * HOUR, 90_000]);
    for (const bad of ["10s", "1w", "", "24"]) expect(() => parseDuration(bad), bad).toThrow(/--wave-deadline/);
  });

  describe("the runner, on a real store", () => {
    let dir: string;
    let store: SqliteStore;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "sos-wave-deadline-"));
      store = SqliteStore.open(dir);
    });
    afterEach(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("stores the no-answer kiosks, offers the next wave, and logs it once", async () => {
      await registered(store, "k1", "k2", "k3");
      const manifest = { v: 1, version: "2.0.0", file: "sos-kiosk-2.0.0.tar.gz", size: 3, sha256: "a".repeat(64), signature: "c2ln" };
      await store.releases.publishRelease({ version: "2.0.0", file: manifest.file, sha256: manifest.sha256, size: 3, manifest: JSON.stringify(manifest) }, Buffer.from("abc"), at(0));
      await store.releases.putRollout({ version: "2.0.0", target: "all", releaseUrl: "https://gw", waves: [["k1", "k2"], ["k3"]], wave: 0, offeredWave: -1, state: "running", reason: null, waveDeadlineMs: HOUR }, at(0));
      let now = at(0);
      const logs = new LogCapture();
      const runner = new RolloutRunner(store, 1_000, { now: () => now }, logs.logger("rollout"));
      await runner.tick();
      expect((await store.pendingCommands()).map((c) => c.kioskId).sort()).toEqual(["k1", "k2"]);
      now = at(HOUR - 1);
      await runner.tick();
      expect(await store.releases.getRollout("2.0.0")).toMatchObject({ wave: 0, noAnswer: [] });
      now = at(HOUR);
      await runner.tick();
      expect(await store.releases.getRollout("2.0.0")).toMatchObject({ wave: 1, offeredWave: 1, state: "running", noAnswer: ["k1", "k2"], waveOfferedAt: at(HOUR).toISOString() });
      expect((await store.pendingCommands("k3")).length).toBe(1);
      const counted = logs.find("rollout: the wave's deadline passed; kiosks that did not answer are counted as no answer, and the rollout goes on");
      expect(counted.map((l) => l.kiosks)).toEqual([["k1", "k2"]]);
      now = at(2 * HOUR);
      await runner.tick();
      expect(await store.releases.getRollout("2.0.0")).toMatchObject({ state: "done", noAnswer: ["k1", "k2", "k3"], reason: null });
    });
  });
});

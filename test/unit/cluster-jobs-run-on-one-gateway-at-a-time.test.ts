/**
 * Jobs one gateway of a cluster runs (the rollout runner, the daily pruning) go by a lease in the
 * store: the holder runs them and renews, the others skip; a holder that dies is replaced once its
 * lease lapses, one that stops cleanly at once. Two SQLite store instances on one file stand for two
 * gateway processes on one database (the PostgreSQL side is in the store contract).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Singletons } from "../../gateway/cluster/singleton.js";
import { ROLLOUT_JOB, RolloutRunner } from "../../gateway/releases/rollout.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { FakeClock } from "../fixtures/fake-clock.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("cluster jobs run on one gateway at a time", () => {
  let dir: string;
  let a: SqliteStore;
  let b: SqliteStore;
  const clock = new FakeClock();
  const logs = new LogCapture();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-singletons-"));
    a = SqliteStore.open(dir);
    b = SqliteStore.open(dir);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the holder runs and renews, the other skips; a dead holder is replaced once its lease lapses, a stopped one at once", async () => {
    const gwA = new Singletons(() => a.leases, clock, logs.logger("gw-a"), "gw-a");
    const gwB = new Singletons(() => b.leases, clock, logs.logger("gw-b"), "gw-b");
    expect(await gwA.mine(ROLLOUT_JOB, 30_000)).toBe(true);
    expect(await gwB.mine(ROLLOUT_JOB, 30_000)).toBe(false);
    clock.ms += 20_000;
    expect(await gwA.mine(ROLLOUT_JOB, 30_000)).toBe(true); // renewed until +50 s
    clock.ms += 29_000;
    expect(await gwB.mine(ROLLOUT_JOB, 30_000)).toBe(false);
    // gw-a dies (stops renewing): once its lease lapses gw-b takes over, and gw-a, back, does not.
    clock.ms += 1_000;
    expect(await gwB.mine(ROLLOUT_JOB, 30_000)).toBe(true);
    expect(await gwA.mine(ROLLOUT_JOB, 30_000)).toBe(false);
    expect(logs.find("cluster job lost to another gateway: it runs there now")).toEqual([expect.objectContaining({ job: ROLLOUT_JOB, holder: "gw-a" })]);
    // gw-b stops cleanly: gw-a takes over at its next run, without waiting for the lapse.
    await gwB.releaseAll();
    expect(await gwA.mine(ROLLOUT_JOB, 30_000)).toBe(true);
  });

  it("a rollout runner that does not hold the lease does nothing, not even read the rollouts", async () => {
    const calls: string[] = [];
    const watched = new Proxy(b, {
      get(target, prop, receiver) {
        if (prop === "releases") calls.push("releases");
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as GatewayStore;
    const gwA = new Singletons(() => a.leases, clock, logs.logger("gw-a"), "gw-a");
    const gwB = new Singletons(() => b.leases, clock, logs.logger("gw-b"), "gw-b");
    const runnerA = new RolloutRunner(a, 10_000, clock, logs.logger("rollout-a"), gwA.mine);
    const runnerB = new RolloutRunner(watched, 10_000, clock, logs.logger("rollout-b"), gwB.mine);
    await runnerA.tick();
    await runnerB.tick();
    expect(calls).toEqual([]);
    expect((await a.leases.list()).map((l) => [l.name, l.holder, l.until - clock.ms])).toEqual([[ROLLOUT_JOB, "gw-a", 30_000]]);
  });
});

/**
 * Nodes judge each other's beats and leases by their own clocks: a node whose clock is minutes off
 * takes the others for dead, or is taken for dead, and nothing said why. Each node now compares its
 * clock with PostgreSQL's at every look at the nodes: past ±2 s it warns once (naming the offset and
 * the fix), says so on /readyz's cluster line and in sos_cluster_clock_skew_seconds, and says once
 * more when the clocks agree again.
 */
import { afterAll, describe, expect, it } from "vitest";
import { NodeWatch, clusterReadiness } from "../../gateway/cluster/node-watch.js";
import { openStore } from "../../gateway/store/open.js";
import type { Clock } from "../../shared/clock.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

describe("a node whose clock is off the store's", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("says so once and on /readyz's cluster line, and once more when the clocks agree again", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const store = await openStore({ url: db.url });
    try {
      let offsetMs = 90_000;
      const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
      const logs = new LogCapture();
      const watch = new NodeWatch({ nodeId: "gw-a", holder: "gw-a/host/1/x", beatMs: 5_000 }, { leases: () => store.leases, clock, log: logs.logger("cluster") });
      await watch.look();
      await watch.look();
      const said = (start: string) => logs.lines.filter((l) => String(l.msg).startsWith(start));
      const ahead = said("this node's clock is 90.0 s ahead of the store's");
      expect(said("this node's clock is")).toHaveLength(1);
      expect(ahead[0]).toMatchObject({ level: "warn" });
      expect(String(ahead[0]?.msg)).toMatch(/check NTP/);
      const state = watch.state();
      expect(state.clockOff).toBe(true);
      expect(Math.abs((state.clockSkewMs ?? 0) - 90_000)).toBeLessThan(1_000);
      expect(clusterReadiness("gw-a", undefined, state).cluster).toMatch(/^clock 90\.0 s off the store's \(.*check NTP/);

      offsetMs = -60_000;
      await watch.look();
      expect(said("this node's clock is")).toHaveLength(1); // still off: not said again
      offsetMs = 0;
      await watch.look();
      expect(said("this node's clock agrees with the store's again")).toHaveLength(1);
      expect(watch.state().clockOff).toBe(false);
      expect(clusterReadiness("gw-a", undefined, watch.state()).cluster).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

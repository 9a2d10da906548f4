/**
 * A PostgreSQL outage longer than cluster.deadAfterMs, on three gateway nodes in-process (one
 * database, routing through a real redis-server) with real kiosk agents spread over them: no node can
 * beat while the database refuses every connection (ALTER DATABASE … ALLOW_CONNECTIONS false, the
 * gateways' connections killed). Once it is back, the first node to read it must not take the
 * others' kiosks for beats that nobody could write: no kiosk that kept beating on its node is called
 * offline, each is still supervised by the node it is connected to, and the nodes' counts add up to
 * the fleet (none counted twice).
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { ownerOf } from "../fixtures/kiosk-owner.js";
import { provisionTestKiosk, startTestKiosk, type TestGateway, waitFor } from "../integration/harness.js";
import { connectionKiller, killUntilNone, TEST_PG_SERVER } from "../pg/pg-database.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSKS = 6;
/** Nodes beat every 500 ms and are dead after 2 s of silence; the outage lasts 3 times that. */
const FAST = { cluster: { beatMs: 500, deadAfterMs: 2_000 } };
const OUTAGE_MS = 6_000;

describe("a database outage longer than deadAfterMs", () => {
  const { defer, rig } = clusterRigs();

  it("takes no working kiosk offline and leaves each supervised by the node it is connected to", async () => {
    const { db, dir, node, routed } = await rig();
    const nodes = [await node("gw-a", FAST), await node("gw-b", FAST), await node("gw-c", FAST)];
    await routed(...nodes);
    const [a] = nodes as [TestGateway, ...TestGateway[]];
    const ids: string[] = [];
    for (let i = 1; i <= KIOSKS; i += 1) {
      const id = `kz-blind-${String(i).padStart(4, "0")}`;
      ids.push(id);
      const home = nodes[i % nodes.length] as TestGateway;
      const provisioned = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, id, home.mqttUrl, dir);
      // A heartbeat every second: silent for 2 s (two missed), a kiosk is offline.
      const kiosk = await startTestKiosk(parseKioskConfig({ ...provisioned, health: { ...provisioned.health, heartbeatIntervalS: 1 } }));
      defer(() => kiosk.stop());
    }
    const state = async (id: string): Promise<string | undefined> => (await a.store.health.getHealth(id))?.state ?? undefined;
    await waitFor(async () => (await Promise.all(ids.map(state))).every((s) => s === "online"), "every kiosk online", 20_000);
    const owners = async (): Promise<(string | null)[]> => Promise.all(ids.map((id) => ownerOf(a.store.leases, id)));
    const before = await owners();
    expect(before.every((o) => o !== null)).toBe(true);

    const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
    defer(() => admin.end({ timeout: 5 }));
    const allow = (on: boolean): Promise<unknown> => admin.unsafe(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS ${on ? "true" : "false"}`);
    defer(() => allow(true));
    await allow(false);
    await killUntilNone(connectionKiller(admin, db.name, "none"));
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await allow(true);

    await waitFor(() => nodes.every((n) => n.storeStatus().up), "every node reading the store again", 20_000);
    // Past deadAfterMs after the recovery and the kiosks' silence timeout after that (a taker unsure of
    // the owner asks again 5 s later: the false offline came 12 s after the recovery).
    await new Promise((r) => setTimeout(r, 10_000));
    for (const id of ids) {
      expect((await a.store.health.transitions(id, 50)).filter((t) => t.to === "offline"), id).toEqual([]);
      expect(await state(id), id).toBe("online");
    }
    expect(await owners()).toEqual(before);
    const supervised = nodes.map((n) => n.supervision.supervisor.counts().online);
    expect(supervised.reduce((x, y) => x + y, 0)).toBe(KIOSKS);
  });
});

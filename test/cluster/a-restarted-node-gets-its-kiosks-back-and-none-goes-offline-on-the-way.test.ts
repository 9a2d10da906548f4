/**
 * Rolling upgrade, the way back: after a node is stopped gracefully and started again, the kiosks
 * whose first node it is come back to it by themselves (`mqtt.returnHomeAfterS`, here 1 s), so the
 * fleet is spread again without anyone rebalancing it, and no kiosk is taken offline on either move.
 * Two real gateway nodes in-process on one PostgreSQL database and a real redis-server, node A on the
 * same port both times; 8 real kiosk agents, half with A first, half with B first.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { freePort, provisionTestKiosk, startTestKiosk, type TestKiosk, waitFor } from "../integration/harness.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSKS = 8;
const lastNode = (kiosk: TestKiosk): unknown => kiosk.logs.find("connected to gateway").at(-1)?.url;

describe("a node stopped and started again", () => {
  const { defer, rig } = clusterRigs();

  it("gets the kiosks whose first node it is back, and none goes offline on the way", async () => {
    const { db, dir, node, routed } = await rig();
    const aPort = await freePort();
    const onA = { mqtt: { host: "127.0.0.1", port: aPort } };
    const a = await node("gw-a", onA);
    const b = await node("gw-b");
    await routed(a, b);

    const homes = new Map<TestKiosk, string>();
    const ids: string[] = [];
    for (let i = 1; i <= KIOSKS; i += 1) {
      const id = `kz-back-${String(i).padStart(4, "0")}`;
      ids.push(id);
      const provisioned = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, id, a.mqttUrl, dir);
      const { url: _one, ...mqtt } = provisioned.mqtt;
      const urls = i % 2 === 0 ? [b.mqttUrl, a.mqttUrl] : [a.mqttUrl, b.mqttUrl];
      const kiosk = await startTestKiosk(parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls, order: "listed", returnHomeAfterS: 1 } }));
      defer(() => kiosk.stop());
      homes.set(kiosk, urls[0] as string);
    }
    const kiosks = [...homes.keys()];
    await waitFor(() => kiosks.every((k) => lastNode(k) === homes.get(k)), "every kiosk on its first node", 20_000);

    await a.stop();
    await waitFor(() => kiosks.every((k) => lastNode(k) === b.mqttUrl), "every kiosk on node B", 20_000);
    const a2 = await node("gw-a", onA);
    await routed(a2, b);
    await waitFor(() => kiosks.every((k) => lastNode(k) === homes.get(k)), "every kiosk back on its first node", 20_000);
    expect(kiosks.filter((k) => homes.get(k) === a.mqttUrl).every((k) => k.logs.find("returning to its first gateway node").length >= 1)).toBe(true);

    // Moves, not outages: no kiosk was taken offline, and each is online now.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const id of ids) {
      expect((await b.store.health.transitions(id, 50)).filter((t) => t.to === "offline"), id).toEqual([]);
      expect((await b.store.health.getHealth(id))?.state, id).toBe("online");
    }
  });
});

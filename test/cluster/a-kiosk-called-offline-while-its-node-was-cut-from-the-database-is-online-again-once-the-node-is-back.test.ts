/**
 * One gateway node cut from PostgreSQL (its connections go through a TCP proxy, reset and refused)
 * while the other reads it: the node that cannot beat looks dead, so the other takes its kiosks over
 * and, with no heartbeat of theirs stored, calls them offline. The kiosks never stopped beating on
 * the node they are connected to: once that node reads the store again, it claims them back and
 * records them online, and the other node lets them go (the nodes' counts do not overlap).
 * Two nodes in-process on one database and a real redis-server; real kiosk agents.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { ownerOf } from "../fixtures/kiosk-owner.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "../integration/harness.js";
import { TEST_PG_SERVER } from "../pg/pg-database.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSKS = 4;
const FAST = { cluster: { beatMs: 500, deadAfterMs: 2_000 } };
const server = /^postgres(?:ql)?:\/\/(?:([^@/:]*)@)?([^:/,]+)(?::(\d+))?/.exec(TEST_PG_SERVER);

describe("a node cut from the database while its kiosks beat on it", () => {
  const { defer, rig } = clusterRigs();

  it("records them online again once it reads the store, and the node that took them over lets them go", async () => {
    const { db, dir, node, routed } = await rig();
    const proxy = new TcpProxy({ host: server?.[2] ?? "127.0.0.1", port: Number(server?.[3] ?? 5432) });
    const port = new URL(await proxy.start()).port;
    defer(() => proxy.stop());
    const a = await node("gw-a", FAST);
    const b = await node("gw-b", { ...FAST, store: { url: `postgres://${server?.[1] ?? "postgres"}@127.0.0.1:${port}/${db.name}` } });
    await routed(a, b);
    const ids: string[] = [];
    for (let i = 1; i <= KIOSKS; i += 1) {
      const id = `kz-cut-${String(i).padStart(4, "0")}`;
      ids.push(id);
      const provisioned = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, id, b.mqttUrl, dir);
      const kiosk = await startTestKiosk(parseKioskConfig({ ...provisioned, health: { ...provisioned.health, heartbeatIntervalS: 1 } }));
      defer(() => kiosk.stop());
    }
    const state = async (id: string): Promise<string | undefined> => (await a.store.health.getHealth(id))?.state ?? undefined;
    const states = async (): Promise<(string | undefined)[]> => Promise.all(ids.map(state));
    await waitFor(async () => (await states()).every((s) => s === "online"), "every kiosk online", 20_000);

    proxy.down("cut");
    // No heartbeat of theirs stored yet (the flush is every 5 s): offline 20 s after they connected.
    await waitFor(async () => (await states()).every((s) => s === "offline"), "node A calling B's silent kiosks offline", 30_000);
    proxy.heal();

    await waitFor(async () => (await states()).every((s) => s === "online"), "every kiosk online again", 20_000);
    for (const id of ids) expect(await ownerOf(a.store.leases, id), id).toMatch(/^gw-b\//);
    await waitFor(() => a.supervision.supervisor.counts().offline === 0, "node A letting the kiosks go", 10_000);
    expect(b.supervision.supervisor.counts().online).toBe(KIOSKS);
  });
});

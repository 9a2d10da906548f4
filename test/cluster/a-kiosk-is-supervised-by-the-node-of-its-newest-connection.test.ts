/**
 * Supervision on a cluster (real gateways on one PostgreSQL database, routing through a real
 * redis-server, real kiosk agents):
 * - a kiosk whose link to node A goes silent moves to node B and is never called offline: not by A
 *   when its keepalive finally closes the old connection (the last will), not by A's silence timer;
 *   it is B's kiosk now in the store;
 * - a graceful stop of a node moves its kiosks with no offline either;
 * - a node stops and one of its kiosks cannot reach any other: a surviving node takes it over and
 *   calls it offline once, on the usual timeout.
 */
import { describe, expect, it } from "vitest";
import { type KioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { provisionTestKiosk, startTestKiosk, type TestGateway, type TestKiosk, waitFor } from "../integration/harness.js";
import type { TestDatabase } from "../pg/pg-database.js";
import { clusterRigs } from "./cluster-rig.js";
import { ownerOf } from "../fixtures/kiosk-owner.js";

describe("a kiosk is supervised by the node of its newest connection", () => {
  const { defer, rig } = clusterRigs();

  async function cluster(): Promise<{ db: TestDatabase; a: TestGateway; b: TestGateway; dir: string }> {
    const { db, dir, node } = await rig();
    const fast = { cluster: { beatMs: 500, deadAfterMs: 1_500 } };
    return { db, dir, a: await node("gw-a", fast), b: await node("gw-b", fast) };
  }

  async function kiosk(a: TestGateway, dbUrl: string, dir: string, kioskId: string, urls: string[], health: Partial<KioskConfig["health"]> = {}): Promise<TestKiosk> {
    const provisioned = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: dbUrl }, kioskId, urls[0] ?? "", dir);
    const { url: _one, ...mqtt } = provisioned.mqtt;
    const k = await startTestKiosk(parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls, order: "listed", keepaliveSeconds: 5 }, health: { ...provisioned.health, heartbeatIntervalS: 2, ...health } }));
    defer(() => k.stop());
    return k;
  }

  const states = async (g: TestGateway, kioskId: string): Promise<string[]> => (await g.store.health.transitions(kioskId, 50)).reverse().map((t) => `${t.from}>${t.to}:${t.reason}`);
  const connectedTo = (k: TestKiosk): unknown[] => k.logs.find("connected to gateway").map((l) => l.url);

  it("moving to another node (silent link, then a graceful stop) never calls the kiosk offline", async () => {
    const { db, a, b, dir } = await cluster();
    const proxy = new TcpProxy({ host: "127.0.0.1", port: a.mqttPort });
    const aUrl = await proxy.start();
    defer(() => proxy.stop());
    // Heartbeats every 5 s (offline after 2 missed: 10 s), keepalive 5 s (a dead link noticed within
    // 7.5 s): the ratio of the defaults (10 s → 20 s; 12 s → 18 s), so a kiosk moves before its
    // silence runs out.
    const k = await kiosk(a, db.url, dir, "kz-own-0001", [aUrl, b.mqttUrl], { heartbeatIntervalS: 5 });
    await waitFor(async () => (await states(a, "kz-own-0001")).length === 1, "the kiosk online", 10_000);
    expect(await ownerOf(a.store.leases, "kz-own-0001")).toMatch(/^gw-a\//);

    proxy.down("blackhole");
    await waitFor(() => connectedTo(k).length === 2, "the kiosk on node B", 20_000);
    // A's keepalive closes the old connection (1.5 × 5 s after its last packet) and its silence timer runs out.
    await waitFor(() => a.logs.find("kiosk supervised by another gateway now (its newest connection is there)").length > 0, "node A releasing the kiosk", 25_000);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await states(a, "kz-own-0001")).toEqual(["never-seen>online:connected"]);
    expect(await ownerOf(a.store.leases, "kz-own-0001")).toMatch(/^gw-b\//);
    expect((await a.store.health.getHealth("kz-own-0001"))?.state).toBe("online");

    // Node B stops cleanly; the link to A is back: the kiosk moves to A, still never offline.
    proxy.heal();
    await b.stop();
    await waitFor(() => connectedTo(k).length === 3, "the kiosk back on node A", 20_000);
    await waitFor(async () => (await ownerOf(a.store.leases, "kz-own-0001"))?.startsWith("gw-a/") === true, "node A owning the kiosk again", 10_000);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await states(a, "kz-own-0001")).toEqual(["never-seen>online:connected"]);
  });

  it("a kiosk left without a node is taken over by a surviving node and called offline once, on the usual timeout", async () => {
    const { db, a, b, dir } = await cluster();
    // This kiosk knows only node A.
    const k = await kiosk(a, db.url, dir, "kz-own-0002", [a.mqttUrl]);
    await waitFor(async () => (await states(b, "kz-own-0002")).length === 1, "the kiosk online", 10_000);
    await new Promise((r) => setTimeout(r, 2_500)); // a stored heartbeat
    await a.stop();
    const stoppedAt = Date.now();
    await waitFor(async () => (await states(b, "kz-own-0002")).length === 2, "the kiosk offline", 30_000);
    const [, offline] = (await b.store.health.transitions("kz-own-0002", 50)).reverse();
    expect(offline).toMatchObject({ from: "online", to: "offline", reason: "heartbeats-missed" });
    // Heartbeats every 2 s, offline after 2 missed: not before ~4 s after its last beat, taken over within a beat or two.
    expect(Date.parse(offline?.at ?? "") - stoppedAt).toBeGreaterThanOrEqual(1_000);
    expect(await ownerOf(b.store.leases, "kz-own-0002")).toMatch(/^gw-b\//);
    expect(b.logs.find("took over the supervision of kiosks whose gateway stopped beating and that have not connected elsewhere").length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await states(b, "kz-own-0002")).toEqual(["never-seen>online:connected", "online>offline:heartbeats-missed"]);
    expect(k.logs.find("connected to gateway")).toHaveLength(1);
  });
});

/**
 * A kiosk configured with several gateway nodes (`mqtt.urls`) moves to the next node when its node
 * dies, whether the process stops (the socket closes) or the machine goes silent (the link is
 * blackholed: noticed by the keepalive, within 1.5 × keepalive), and a press meanwhile reaches
 * dispatch through the node it moved to. Two real gateways (each its own SQLite store, the kiosk
 * registered on both), a real kiosk agent.
 */
import { describe, expect, it } from "vitest";
import { deadLinkNoticedWithinMs } from "../../device/link/reconnect-policy.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { gatewayOrder } from "../../shared/gateway-order.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { type Defer, deferCleanups, startSystem, type TestSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, type TestKiosk, waitFor } from "./harness.js";

interface Nodes {
  readonly a: TestSystem;
  readonly b: TestSystem;
  /** The kiosk's URL for node A (through `proxy` when asked for). */
  readonly aUrl: string;
  readonly proxy: TcpProxy | undefined;
  readonly kiosk: TestKiosk;
}

/** Two gateway nodes, the kiosk registered on both, its `mqtt.urls` = [A, B], connected to A. */
async function twoNodes(defer: Defer, kioskId: string, options: { viaProxy?: boolean; keepaliveSeconds?: number } = {}): Promise<Nodes> {
  const a = await startSystem(defer);
  const b = await startSystem(defer);
  let proxy: TcpProxy | undefined;
  let aUrl = a.gateway.mqttUrl;
  if (options.viaProxy === true) {
    const p = new TcpProxy({ host: "127.0.0.1", port: a.gateway.mqttPort });
    proxy = p;
    aUrl = await p.start();
    defer(() => p.stop());
  }
  const provisioned = await provisionTestKiosk(a.gateway.dataDir, kioskId, aUrl, a.dir);
  const record = await a.gateway.store.getKiosk(kioskId);
  if (record === undefined) throw new Error("kiosk not provisioned");
  await b.gateway.store.putKiosk(record, { replace: false, now: new Date() });
  const { url: _one, ...mqtt } = provisioned.mqtt;
  const config = parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls: [aUrl, b.gateway.mqttUrl], order: "listed", keepaliveSeconds: options.keepaliveSeconds ?? 12 } });
  const kiosk = await startTestKiosk(config);
  defer(() => kiosk.stop());
  await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
  return { a, b, aUrl, proxy, kiosk };
}

const connectedTo = (kiosk: TestKiosk): unknown[] => kiosk.logs.find("connected to gateway").map((l) => l.url);

describe("a kiosk with several gateway nodes moves when its node dies", () => {
  const defer = deferCleanups();

  it("node stopped: the kiosk connects to the next node and a press meanwhile reaches dispatch there", async () => {
    const { a, b, aUrl, kiosk } = await twoNodes(defer, "kz-clu-0001");
    expect(connectedTo(kiosk)).toEqual([aUrl]);

    await a.gateway.stop();
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1, "the press delivered by node B", 10_000);
    expect(connectedTo(kiosk)).toEqual([aUrl, b.gateway.mqttUrl]);
    expect(b.receiver.requests[0]?.body).toMatchObject({ kioskId: "kz-clu-0001", kind: "sos" });
    expect(a.receiver.requests).toHaveLength(0);
    await waitFor(() => kiosk.outbox.depth === 0, "the alert acknowledged by node B");
  });

  it("node silent (every packet dropped): the keepalive gives it up within 1.5 × keepalive and the kiosk connects to the next node", async () => {
    const keepaliveSeconds = 5;
    const { b, aUrl, proxy, kiosk } = await twoNodes(defer, "kz-clu-0002", { viaProxy: true, keepaliveSeconds });
    expect(connectedTo(kiosk)).toEqual([aUrl]);
    await new Promise((r) => setTimeout(r, 500));

    proxy?.down("blackhole");
    const darkAt = Date.now();
    await waitFor(() => connectedTo(kiosk).length === 2, "the kiosk on node B", 20_000);
    const movedAfterMs = Date.now() - darkAt;
    expect(connectedTo(kiosk)).toEqual([aUrl, b.gateway.mqttUrl]);
    expect(kiosk.logs.find("gateway unreachable: retrying", (l) => l.reason === "Keepalive timeout" && l.next === b.gateway.mqttUrl)).toHaveLength(1);
    // Noticed by the keepalive, then the first (fast) try goes to B.
    expect(movedAfterMs).toBeLessThanOrEqual(deadLinkNoticedWithinMs(keepaliveSeconds) + 2_000);
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1, "the press delivered by node B", 10_000);
  });

  it("kiosks given the same list of nodes start on the node their own order names, so the fleet spreads over the nodes", async () => {
    const a = await startSystem(defer);
    const b = await startSystem(defer);
    const urls = [a.gateway.mqttUrl, b.gateway.mqttUrl];
    const ids = Array.from({ length: 40 }, (_, i) => `kz-clu-${String(100 + i).padStart(4, "0")}`);
    const startingOn = (url: string): string => ids.find((id) => gatewayOrder(urls, id, "spread")[0] === url) ?? "";
    const chosen = [startingOn(urls[0]!), startingOn(urls[1]!)];
    const kiosks: TestKiosk[] = [];
    for (const kioskId of chosen) {
      const provisioned = await provisionTestKiosk(a.gateway.dataDir, kioskId, urls[0]!, a.dir);
      await b.gateway.store.putKiosk((await a.gateway.store.getKiosk(kioskId))!, { replace: false, now: new Date() });
      const { url: _one, ...mqtt } = provisioned.mqtt;
      const kiosk = await startTestKiosk(parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls } }));
      defer(() => kiosk.stop());
      kiosks.push(kiosk);
    }
    await waitFor(() => kiosks.every((k) => connectedTo(k).length > 0), "both kiosks connected");
    expect(kiosks.map(connectedTo)).toEqual([[urls[0]], [urls[1]]]);
  });
});

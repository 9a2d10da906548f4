/**
 * A kiosk whose next gateway node is a machine that is gone (its SYNs go unanswered) gives that node
 * up after mqtt.tcpConnectTimeoutMs and connects to the next one, without waiting out the whole
 * connect timeout (to the CONNACK); a node that takes the connection but is slow to answer it
 * (busy) still gets the whole connect timeout. Real gateways, a real kiosk agent; the gone machine is
 * a listener whose accept queue is full (test/fixtures/syn-dropper.ts).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { SynDropper } from "../fixtures/syn-dropper.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, type TestKiosk, waitFor } from "./harness.js";

/** A TCP front that takes each connection at once and passes it on to `port` only after `delayMs`. */
async function slowFront(port: number, delayMs: number): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = createConnection(port, "127.0.0.1");
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.on("error", () => b.destroy());
        a.on("close", () => b.destroy());
      }
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const connectedTo = (kiosk: TestKiosk): unknown[] => kiosk.logs.find("connected to gateway").map((l) => l.url);

describe("a kiosk gives up a node that answers no TCP connect", () => {
  const defer = deferCleanups();

  it("a gone machine first in the list: given up after tcpConnectTimeoutMs, the kiosk connects to the next node and its press is acknowledged there", async () => {
    const dropper = new SynDropper();
    defer(() => dropper.stop());
    const deadUrl = await dropper.start();
    const b = await startSystem(defer);
    const provisioned = await provisionTestKiosk(b.gateway.dataDir, "kz-syn-0001", b.gateway.mqttUrl, b.dir);
    const { url: _one, ...mqtt } = provisioned.mqtt;
    // A CONNACK wait far longer than the test: only the TCP connect timeout can move the kiosk on.
    const config = parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls: [deadUrl, b.gateway.mqttUrl], order: "listed", tcpConnectTimeoutMs: 1_000, connectTimeoutMs: 120_000 } });
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    await waitFor(() => connectedTo(kiosk).length > 0, "the kiosk connected to node B", 15_000);
    expect(connectedTo(kiosk)).toEqual([b.gateway.mqttUrl]);
    // The first try is said at once (a technician watching the log is not left with silence), the failed one once, with its reason.
    expect(kiosk.logs.find("connecting to gateway")).toEqual([expect.objectContaining({ level: "info", url: deadUrl, nodes: 2 })]);
    const gaveUp = kiosk.logs.find("gateway unreachable: retrying", (l) => l.url === deadUrl);
    expect(gaveUp).toEqual([expect.objectContaining({ next: b.gateway.mqttUrl, reason: "no answer to the TCP connect within 1000 ms (the node's machine is down or unreachable)" })]);
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1, "the press delivered by node B");
    await waitFor(() => kiosk.outbox.depth === 0, "the alert acknowledged by node B");
  });

  it("a node that takes the connection but answers late keeps the kiosk: the CONNACK wait is connectTimeoutMs, not the TCP connect timeout", async () => {
    const a = await startSystem(defer);
    const b = await startSystem(defer);
    const slow = await slowFront(a.gateway.mqttPort, 2_000);
    defer(() => slow.close());
    const provisioned = await provisionTestKiosk(a.gateway.dataDir, "kz-syn-0002", slow.url, a.dir);
    await b.gateway.store.putKiosk((await a.gateway.store.getKiosk("kz-syn-0002"))!, { replace: false, now: new Date() });
    const { url: _one, ...mqtt } = provisioned.mqtt;
    const config = parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls: [slow.url, b.gateway.mqttUrl], order: "listed", tcpConnectTimeoutMs: 500, connectTimeoutMs: 10_000 } });
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    await waitFor(() => connectedTo(kiosk).length > 0, "the kiosk connected", 15_000);
    expect(connectedTo(kiosk)).toEqual([slow.url]);
    expect(kiosk.logs.find("gateway unreachable: retrying")).toEqual([]);
  });
});

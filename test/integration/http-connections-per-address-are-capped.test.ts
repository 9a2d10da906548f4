/**
 * Open connections to the HTTP port are capped per source address and in all (a small global limit
 * stands in for a lowered descriptor limit): past either, a new connection is closed at once, logged
 * sampled and counted, while kiosks keep connecting over MQTT and other addresses keep being served.
 * An operator's WebSocket at /mqtt counts for as long as it is open. Real gateway, raw TCP sockets
 * from 127.0.0.1, 127.0.0.2 and 127.0.0.3.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, startTestGateway, tempDir, waitFor } from "./harness.js";
import { openRaw, type RawSocket, rawStatus } from "./http-raw.js";
import { addTestOperator, connectOperatorWs, type LoginData, OPERATOR_PASSWORD } from "./operator-harness.js";

/** POST /api/login on a connection of its own that closes with the answer (fetch would keep it pooled, counted). */
async function loginOnce(port: number, name: string): Promise<LoginData> {
  const body = JSON.stringify({ name, password: OPERATOR_PASSWORD });
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/api/login", method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": String(body.length) } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString("utf8")));
      res.on("end", () => resolve((JSON.parse(text) as { data: LoginData }).data));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("HTTP connections are capped per address and in all", () => {
  const defer = deferCleanups();

  it("closes at once what is over the address's or the gateway's limit; the rest is served and kiosks still connect", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      limits: { httpConnectionsPerAddress: 4, httpConnections: 7, refusalLogPerKey: 3, httpHeadersTimeoutMs: 60_000, httpRequestTimeoutMs: 60_000 },
    });
    defer(() => gateway.stop());
    const kiosk = await provisionTestKiosk(gateway.dataDir, "kz-cap-0001", gateway.mqttUrl, dir.path);
    await addTestOperator(gateway.dataDir, "alice");
    const open: RawSocket[] = [];
    const raw = async (from: string): Promise<RawSocket> => {
      const socket = await openRaw(gateway.httpPort, from);
      open.push(socket);
      defer(() => socket.close());
      return socket;
    };
    const refusedAtOnce = async (socket: RawSocket): Promise<void> => {
      await waitFor(() => socket.closed(), "the connection over the limit closed");
      expect(socket.received()).toBe("");
    };

    // 127.0.0.1: an operator's WebSocket (its login's connection has closed) and three idle sockets fill its 4.
    const { mqtt } = await loginOnce(gateway.httpPort, "alice");
    const page = await connectOperatorWs(gateway.httpPort, { clientId: mqtt.clientId, username: mqtt.username, password: mqtt.password });
    defer(() => page.endAsync(true));
    await new Promise((r) => setTimeout(r, 300)); // the login's own connection closes
    const local = [await raw("127.0.0.1"), await raw("127.0.0.1"), await raw("127.0.0.1")];
    await new Promise((r) => setTimeout(r, 200));
    expect(local.every((s) => !s.closed())).toBe(true);
    const fifth = await raw("127.0.0.1");
    await refusedAtOnce(fifth);
    expect(page.connected).toBe(true);

    // 127.0.0.2 is served until the gateway's 7 are open; then 127.0.0.3 is refused too.
    const second = [await raw("127.0.0.2"), await raw("127.0.0.2"), await raw("127.0.0.2")];
    await new Promise((r) => setTimeout(r, 200));
    expect(second.every((s) => !s.closed())).toBe(true);
    await refusedAtOnce(await raw("127.0.0.3"));
    for (let i = 0; i < 10; i += 1) await refusedAtOnce(await raw("127.0.0.3"));

    // A kiosk is not held back by a full HTTP port.
    const kioskClient = await connectRaw(gateway.mqttUrl, { clientId: kiosk.kioskId, username: kiosk.kioskId, password: kiosk.mqtt.password });
    defer(() => kioskClient.endAsync(true));
    expect(kioskClient.connected).toBe(true);

    // Sampled: at most 3 lines per reason and address in the window; every refusal counted.
    const lines = gateway.logs.find("connection refused", (l) => l.listener === "http");
    expect(lines.filter((l) => l.address === "127.0.0.1")).toEqual([
      expect.objectContaining({ reason: "4 HTTP connections open from this address, its limit (limits.httpConnectionsPerAddress)" }),
    ]);
    expect(lines.filter((l) => l.address === "127.0.0.3")).toHaveLength(3);
    const metrics = (await gateway.metrics.render()).body;
    expect(metrics).toContain('sos_http_refused_connections_total{reason="address-limit"} 1\n');
    expect(metrics).toContain('sos_http_refused_connections_total{reason="global-limit"} 11\n');

    // Room again once connections close (the WebSocket's too).
    await page.endAsync(true);
    for (const s of [...local, ...second]) s.close();
    await waitFor(async () => (await rawStatus(gateway.httpPort, "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")) === 200, "served again");
  });
});

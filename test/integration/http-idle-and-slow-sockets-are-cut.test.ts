/**
 * The HTTP port cuts sockets that hold it without making a request: one that never sends a byte,
 * one that trickles its headers, one that trickles its body, one idle after a keep-alive answer.
 * The long-lived connections of a logged-in console (its MQTT WebSocket, its event stream) are not
 * cut by these timeouts. Real gateway, raw TCP sockets; the timeouts lowered in the config.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir, waitFor } from "./harness.js";
import { metricValue, openRaw, type RawSocket } from "./http-raw.js";
import { addTestOperator, connectOperator, login } from "./operator-harness.js";
import { startSecureGateway } from "./security/rig.js";

const HEADERS_MS = 600;
const REQUEST_MS = 1_200;

describe("idle and slow HTTP sockets are cut", () => {
  const defer = deferCleanups();

  it("cuts a silent socket, trickled headers, a trickled body and an idle keep-alive; logs them sampled and counts them", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      limits: { httpHeadersTimeoutMs: HEADERS_MS, httpRequestTimeoutMs: REQUEST_MS, httpKeepAliveTimeoutMs: 500, refusalLogPerKey: 2 },
    });
    defer(() => gateway.stop());
    const trickle = (raw: RawSocket, bytes: string): void => {
      const timer = setInterval(() => raw.socket.write(bytes), 100);
      raw.socket.once("close", () => clearInterval(timer));
    };
    const silent = await openRaw(gateway.httpPort);
    const headers = await openRaw(gateway.httpPort);
    headers.socket.write("GET /healthz HTTP/1.1\r\nHost: gw\r\n");
    trickle(headers, "X-Slow: a\r\n");
    const body = await openRaw(gateway.httpPort);
    body.socket.write("POST /api/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");
    trickle(body, " ");
    const keepAlive = await openRaw(gateway.httpPort);
    keepAlive.socket.write("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n");
    const all = [silent, headers, body, keepAlive];
    for (const raw of all) defer(() => raw.close());

    // Today's defaults held such sockets for minutes; here each goes within a few of its timeouts.
    await waitFor(() => all.every((raw) => raw.closed()), "all four sockets cut", 10_000);
    for (const raw of [silent, headers, body]) expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(keepAlive.received()).toMatch(/^HTTP\/1\.1 200 /);

    // Logged sampled (2 per reason and address in a window), every one counted.
    const cuts = gateway.logs.find("connection cut", (l) => l.listener === "http");
    expect(cuts).toHaveLength(2);
    expect(cuts[0]).toMatchObject({ address: "127.0.0.1", reason: "request not received in time (headers, body or TLS handshake)", code: "ERR_HTTP_REQUEST_TIMEOUT" });
    expect(await metricValue(gateway.httpPort, "sos_http_refused_connections_total", { reason: "timeout" })).toBe(3);
    expect(gateway.logs.find("request failed")).toEqual([]);
  });

  it("keeps a logged-in console's MQTT WebSocket and event stream open well past the timeouts", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      limits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 400, httpKeepAliveTimeoutMs: 300 },
    });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    const page = await connectOperator(gateway.httpPort, "alice");
    defer(() => page.endAsync(true));
    let pageClosed = false;
    page.on("close", () => (pageClosed = true));
    const cookie = (await login(gateway.httpPort, "alice", "correct horse battery staple")).cookie ?? "";
    let streamEnded = false;
    let streamData = "";
    const stream = request({ host: "127.0.0.1", port: gateway.httpPort, path: "/api/events", headers: { cookie } }, (res) => {
      res.on("data", (d: Buffer) => (streamData += d.toString("utf8")));
      res.on("close", () => (streamEnded = true));
    });
    stream.on("error", () => (streamEnded = true));
    stream.end();
    defer(() => stream.destroy());
    await waitFor(() => streamData.includes(": connected"), "the event stream open");

    // Ten times the longest timeout, with nothing sent by either client.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(pageClosed).toBe(false);
    expect(page.connected).toBe(true);
    expect(streamEnded).toBe(false);
    expect(gateway.logs.find("connection cut")).toEqual([]);
  });

  it("HTTPS: a socket that never starts its TLS handshake is cut after the headers timeout, and counted", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startSecureGateway(dir.path, { limits: { httpHeadersTimeoutMs: HEADERS_MS, httpRequestTimeoutMs: REQUEST_MS } });
    defer(() => gateway.stop());
    const silent = await openRaw(gateway.httpPort);
    defer(() => silent.close());
    await waitFor(() => silent.closed(), "the silent TLS socket cut", 10_000);
    await waitFor(() => gateway.logs.find("connection cut", (l) => l.listener === "https" && l.code === "ERR_TLS_HANDSHAKE_TIMEOUT")[0], "the cut logged");
    expect((await gateway.metrics.render()).body).toContain('sos_http_refused_connections_total{reason="timeout"} 1\n');
  });
});

/**
 * A web page from another origin, open in a control-room browser, cannot reach the broker: its
 * `new WebSocket("ws://<gateway>/mqtt", "mqtt")` is refused at the upgrade (the browser names the page
 * in Origin), so it can neither try passwords there (the WebSocket takes none) nor use up the
 * operators' login limit. The gateway's own page opens the same WebSocket. Real Chromium, a real
 * gateway, and a second small HTTP server on another port serving the hostile page.
 */
import { createServer, type Server } from "node:http";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, tempDir, type TestGateway, waitFor } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser-harness.js";

let gateway: TestGateway;
let browser: Browser;
let hostile: Server;
let hostilePort = 0;
const dir = tempDir("sos-e2e-origin-");

/** Page code as text (the project's TypeScript has no DOM types): resolves with how the WebSocket ended up. */
const OPEN_WS = (url: string): string => `new Promise((resolve) => {
  const ws = new WebSocket(${JSON.stringify(url)}, "mqtt");
  ws.onopen = () => { resolve("open"); ws.close(); };
  ws.onerror = () => resolve("error");
  ws.onclose = (e) => resolve("closed " + e.code);
})`;

beforeAll(async () => {
  gateway = await startTestGateway(`${dir.path}/gw`);
  hostile = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>a page about something else</title><p>hello</p>");
  });
  await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", () => resolve()));
  hostilePort = (hostile.address() as { port: number }).port;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (hostile === undefined ? resolve() : hostile.close(() => resolve())));
  await gateway?.stop();
  dir.remove();
});

describe("a WebSocket from another origin is refused", () => {
  it("a page on another port cannot open /mqtt; the gateway's own page can", async () => {
    const url = `ws://127.0.0.1:${gateway.httpPort}/mqtt`;
    const context = await browser.newContext({ bypassCSP: true });
    const evil = await context.newPage();
    await evil.goto(`http://127.0.0.1:${hostilePort}/`);
    expect(await evil.evaluate(OPEN_WS(url))).not.toBe("open");
    const refused = await waitFor(() => gateway.logs.find("connection refused", (l) => String(l.reason).startsWith("a WebSocket from another origin"))[0], "the refusal logged");
    expect(refused.reason).toContain(`"http://127.0.0.1:${hostilePort}"`);
    expect((await gateway.metrics.render()).body).toContain('sos_http_refused_connections_total{reason="cross-origin"} 1\n');

    // The console page under its own CSP (connect-src 'self' ws://<its host>): the WebSocket opens.
    const strict = await browser.newContext();
    const own = await strict.newPage();
    await own.goto(`http://127.0.0.1:${gateway.httpPort}/`);
    expect(await own.evaluate(OPEN_WS(url))).toBe("open");
    expect(gateway.logs.find("connection refused", (l) => String(l.reason).startsWith("a WebSocket from another origin"))).toHaveLength(1);
    await strict.close();
    await context.close();
  });
});

/**
 * The MQTT WebSocket at /mqtt takes a session's MQTT token only: a password is refused unchecked
 * there, so guesses on it (from any page open in the control room) neither reach scrypt nor use up
 * the operators' login limit; passwords go through POST /api/login. Upgrades from another origin
 * are refused before any MQTT is spoken. Real gateway, real mqtt.js over ws, raw upgrades.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir, waitFor } from "./harness.js";
import { rawStatus } from "./http-raw.js";
import { addTestOperator, connectOperatorWs, login, OPERATOR_PASSWORD, refusal } from "./operator-harness.js";

const upgrade = (origin: string | undefined, host = "gw.example:8080"): string =>
  `GET /mqtt HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n${origin === undefined ? "" : `Origin: ${origin}\r\n`}\r\n`;

describe("the MQTT WebSocket takes session tokens, not passwords", () => {
  const defer = deferCleanups();

  it("refuses the right password on /mqtt without counting it; 20 such tries leave the operators' login limit untouched", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { operators: { maxFailedLoginsPerMinute: 3 } });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");

    for (let i = 0; i < 20; i += 1) {
      const err = await refusal(connectOperatorWs(gateway.httpPort, { clientId: "operator:alice", username: "operator:alice", password: i === 0 ? OPERATOR_PASSWORD : `guess-${i}` }));
      expect(err?.code, `try ${i}`).toBe(4);
    }
    await waitFor(() => gateway.logs.find("connection refused", (l) => String(l.reason).startsWith("not a session token")).length > 0, "the refusal logged");
    // The login API still works from the same address: the WebSocket's refusals did not count.
    const reply = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    expect(reply.status).toBe(200);
    const creds = reply.body.data?.mqtt;
    const page = await connectOperatorWs(gateway.httpPort, { clientId: creds?.clientId, username: creds?.username, password: creds?.password });
    defer(() => page.endAsync(true));
    expect(page.connected).toBe(true);
  });

  it("refuses an upgrade whose Origin is another site's (403); its own origin, an allowed one and none at all go on", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { http: { host: "127.0.0.1", port: 0, allowedOrigins: ["https://console.example"] } });
    defer(() => gateway.stop());
    const port = gateway.httpPort;
    for (const origin of ["http://evil.example", "http://gw.example:8081", "https://gw.example.evil:8080", "null", "file://", "chrome-extension://abc"]) {
      expect(await rawStatus(port, upgrade(origin)), origin).toBe(403);
    }
    for (const origin of ["http://gw.example:8080", "https://GW.example:8080", "https://console.example", undefined]) {
      expect(await rawStatus(port, upgrade(origin)), String(origin)).toBe(101);
    }
    const refused = gateway.logs.find("connection refused", (l) => l.listener === "http");
    expect(refused[0]).toMatchObject({ address: "127.0.0.1", reason: 'a WebSocket from another origin ("http://evil.example") is refused: only the gateway\'s own page may connect' });
    expect((await gateway.metrics.render()).body).toContain('sos_http_refused_connections_total{reason="cross-origin"} 6\n');
  });
});

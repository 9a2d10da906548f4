/**
 * Operators log in over HTTP and connect to the broker over MQTT-over-WebSocket on the HTTP port.
 * Real gateway, real SQLite, real mqtt.js clients (over ws for operators, TCP for kiosks).
 */
import { randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { topicFor } from "../../shared/contract.js";
import { connectRaw, provisionTestKiosk, startTestGateway, tempDir, waitFor, type TestGateway } from "./harness.js";
import { addTestOperator, connectOperator, connectOperatorWs, get, login, OPERATOR_PASSWORD, refusal } from "./operator-harness.js";

const KIOSK = "kz-ops-0001";
const OTHER = "kz-ops-0002";
const ICE = [{ urls: "stun:stun.example.test:3478" }];
const NOT_A_TOKEN = "not a session token for this client id: log in at POST /api/login and use its MQTT token";

interface Env {
  gateway: TestGateway;
  kiosk: KioskConfig;
}

describe("operator login and MQTT over WebSocket", () => {
  const defer = deferCleanups();

  async function setup(overrides: Partial<GatewayConfigInput> = {}): Promise<Env> {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { iceServers: ICE, ...overrides });
    defer(() => gateway.stop());
    const kiosk = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path);
    await provisionTestKiosk(gateway.dataDir, OTHER, gateway.mqttUrl, dir.path);
    await addTestOperator(gateway.dataDir, "alice");
    return { gateway, kiosk };
  }

  function track(client: MqttClient): MqttClient {
    defer(() => client.endAsync(true));
    return client;
  }

  it("logs in with the right password: HttpOnly SameSite=Strict session, MQTT credentials, ICE servers; logs out", async () => {
    const { gateway } = await setup();
    const reply = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    expect(reply.status).toBe(200);
    const setCookie = reply.headers.getSetCookie()[0] ?? "";
    expect(setCookie).toMatch(/^sos_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    const data = reply.body.data;
    expect(data).toMatchObject({ operator: "alice", mqtt: { path: "/mqtt", username: "operator:alice" }, iceServers: ICE });
    expect(data?.mqtt.clientId).toMatch(/^operator:alice:[0-9a-f]{12}$/);
    expect(data?.mqtt.password.length).toBeGreaterThanOrEqual(40);

    const cookie = reply.cookie ?? "";
    expect((await get(gateway.httpPort, "/api/session", cookie)).status).toBe(200);
    const config = await get(gateway.httpPort, "/api/config", cookie);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ status: "ok", data: { iceServers: ICE } });
    expect((await get(gateway.httpPort, "/api/config")).status).toBe(401);
    expect((await get(gateway.httpPort, "/api/session")).status).toBe(401);
    expect((await get(gateway.httpPort, "/api/session", "sos_session=forged")).status).toBe(401);
    expect(gateway.logs.find("operator logged in")).toEqual([expect.objectContaining({ operator: "alice" })]);

    const out = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/logout`, { method: "POST", headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toContain("Max-Age=0");
    expect((await get(gateway.httpPort, "/api/session", cookie)).status).toBe(401);
    // The password is never logged, nor the session's secrets.
    const raw = gateway.logs.raw.join("\n");
    for (const secret of [OPERATOR_PASSWORD, cookie.split("=")[1] ?? "", data?.mqtt.password ?? ""]) expect(raw).not.toContain(secret);
  });

  it("refuses a wrong password or an unknown operator with 401, and malformed requests with 4xx", async () => {
    const { gateway } = await setup();
    for (const [name, password] of [["alice", `${OPERATOR_PASSWORD}x`], ["mallory", OPERATOR_PASSWORD], ["Alice", OPERATOR_PASSWORD]] as const) {
      const reply = await login(gateway.httpPort, name, password);
      expect(reply.status, `${name}`).toBe(401);
      expect(reply.body.error?.code).toBe("LOGIN_FAILED");
      expect(reply.cookie).toBeUndefined();
    }
    expect(gateway.logs.find("login refused").map((l) => l.reason)).toEqual(["wrong password", "unknown operator", "invalid name"]);
    const base = `http://127.0.0.1:${gateway.httpPort}`;
    expect((await fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })).status).toBe(415);
    expect((await fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" })).status).toBe(400);
    expect((await fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(400);
    expect((await fetch(`${base}/api/login`)).status).toBe(405);
    expect(gateway.logs.raw.join("\n")).not.toContain(OPERATOR_PASSWORD);
  });

  it("rate-limits failed logins per address: refused unchecked, even with the right password; the WebSocket takes no password at all", async () => {
    const { gateway } = await setup({ operators: { maxFailedLoginsPerMinute: 3 } });
    for (let i = 0; i < 3; i += 1) expect((await login(gateway.httpPort, "alice", `wrong-${i}`)).status).toBe(401);
    const limited = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe("TOO_MANY_ATTEMPTS");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    const ws = await refusal(connectOperatorWs(gateway.httpPort, { clientId: "operator:alice", username: "operator:alice", password: OPERATOR_PASSWORD }));
    expect(ws?.code).toBe(4);
    expect(gateway.logs.find("connection refused", (l) => String(l.reason).startsWith("not a session token"))).toHaveLength(1);
  });

  it("accepts an operator on /mqtt with the session token only, and refuses passwords, kiosks on the WebSocket and operators on TCP", async () => {
    const { gateway, kiosk } = await setup();
    const session = (await login(gateway.httpPort, "alice", OPERATOR_PASSWORD)).body.data;
    const byToken = track(await connectOperatorWs(gateway.httpPort, { clientId: session?.mqtt.clientId, username: session?.mqtt.username, password: session?.mqtt.password }));
    expect(byToken.connected).toBe(true);
    await waitFor(() => gateway.logs.find("operator connected").length === 1, "the operator connection logged");
    const kioskClient = track(await connectRaw(gateway.mqttUrl, { clientId: KIOSK, username: KIOSK, password: kiosk.mqtt.password }));

    const refused = [
      { what: "the right password", ws: true, options: { clientId: "operator:alice:tab1", username: "operator:alice", password: OPERATOR_PASSWORD }, code: 4, reason: NOT_A_TOKEN },
      { what: "wrong password", ws: true, options: { clientId: "operator:alice", username: "operator:alice", password: "nope" }, code: 4, reason: NOT_A_TOKEN },
      { what: "another operator's token", ws: true, options: { clientId: "operator:bob", username: "operator:bob", password: session?.mqtt.password }, code: 4, reason: NOT_A_TOKEN },
      // A token serves its own page's client id only: a second connection under another id would outlive the session's end.
      { what: "its token under another client id", ws: true, options: { clientId: "operator:alice:stay", username: "operator:alice", password: session?.mqtt.password }, code: 4, reason: NOT_A_TOKEN },
      { what: "client id of a kiosk", ws: true, options: { clientId: KIOSK, username: "operator:alice", password: OPERATOR_PASSWORD }, code: 2, reason: "client id must be operator:alice or operator:alice:SUFFIX" },
      { what: "kiosk on the WebSocket", ws: true, options: { clientId: KIOSK, username: KIOSK, password: kiosk.mqtt.password }, code: 5, reason: "kiosks connect over MQTT/TCP, not the WebSocket" },
      { what: "operator on TCP", ws: false, options: { clientId: "operator:alice", username: "operator:alice", password: OPERATOR_PASSWORD }, code: 5, reason: "operators connect over the WebSocket (/mqtt on the HTTP port), not MQTT/TCP" },
    ];
    for (const attempt of refused) {
      const err = await refusal(attempt.ws ? connectOperatorWs(gateway.httpPort, attempt.options) : connectRaw(gateway.mqttUrl, attempt.options));
      expect(err?.code, attempt.what).toBe(attempt.code);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === attempt.reason).length > 0, `refusal logged: ${attempt.what}`);
    }
    // The kiosk's own session was never taken over by an operator (or a second kiosk login) using its client id.
    expect(gateway.logs.find("kiosk connected")).toHaveLength(1);
    expect(gateway.logs.find("kiosk disconnected")).toHaveLength(0);
    expect(kioskClient.connected && byToken.connected).toBe(true);
    expect(gateway.logs.raw.join("\n")).not.toContain(OPERATOR_PASSWORD);
  });

  it("lets an operator subscribe to every kiosk's call/up and the alarms and publish call/down; refuses acks, alerts and publishing alerts", async () => {
    const { gateway, kiosk } = await setup();
    const operator = track(await connectOperator(gateway.httpPort, "alice"));
    const kioskClient = track(await connectRaw(gateway.mqttUrl, { clientId: KIOSK, username: KIOSK, password: kiosk.mqtt.password }));
    const toOperator: { topic: string; body: unknown }[] = [];
    operator.on("message", (topic, payload) => toOperator.push({ topic, body: JSON.parse(payload.toString("utf8")) }));
    const toKiosk: { topic: string; body: unknown }[] = [];
    kioskClient.on("message", (topic, payload) => toKiosk.push({ topic, body: JSON.parse(payload.toString("utf8")) }));

    for (const filter of ["sos/v1/kiosks/+/call/up", OPERATOR_ALARMS_TOPIC, topicFor("callUp", OTHER)]) {
      expect((await operator.subscribeAsync(filter, { qos: 1 })).map((g) => g.qos), filter).toEqual([1]);
    }
    // A refused filter costs the page its connection (each probe is a page of its own).
    for (const filter of ["sos/v1/kiosks/+/acks", topicFor("alerts", KIOSK), topicFor("callDown", KIOSK), "#", "sos/v1/kiosks/+/snapshot"]) {
      const probe = track(await connectOperator(gateway.httpPort, "alice"));
      const err = await probe.subscribeAsync(filter, { qos: 1 }).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message, `subscription to ${filter} must be refused`).toBe("Connection closed");
      await waitFor(() => !probe.connected, `the page subscribing to ${filter} disconnected`);
      expect(gateway.logs.find("subscription refused: client disconnected", (l) => l.topic === filter)).toHaveLength(1);
    }
    expect(operator.connected).toBe(true);

    // Kiosk → operator on call/up, operator → kiosk on call/down.
    expect((await kioskClient.subscribeAsync(topicFor("callDown", KIOSK), { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    // A ring names one of the kiosk's own alarms (the gateway drops any other).
    const alertId = randomUUID();
    const alert = { v: 1, alertId, kioskId: KIOSK, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "km 12" } };
    await kioskClient.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(alert), { qos: 1 });
    await waitFor(async () => (await gateway.store.getAlert(alertId)) !== undefined, "the kiosk's alarm stored");
    const ring = { v: 1, type: "ring", callId: "call-0001-abcd", alertId, at: new Date().toISOString() };
    await kioskClient.publishAsync(topicFor("callUp", KIOSK), JSON.stringify(ring), { qos: 1 });
    const calls = (): unknown[] => toOperator.filter((m) => m.topic !== OPERATOR_ALARMS_TOPIC);
    await waitFor(() => calls().length > 0, "the ring at the operator");
    expect(calls()).toEqual([{ topic: topicFor("callUp", KIOSK), body: ring }]);
    const accept = { v: 1, type: "accept", callId: ring.callId, operator: "alice" };
    await operator.publishAsync(topicFor("callDown", KIOSK), JSON.stringify(accept), { qos: 1 });
    await waitFor(() => toKiosk.length > 0, "the accept at the kiosk");
    expect(toKiosk).toEqual([{ topic: topicFor("callDown", KIOSK), body: accept }]);

    // Publishing an alert (or anything but call/down) costs the operator its connection; nothing is stored.
    let closed = false;
    operator.on("close", () => (closed = true));
    operator.publish(topicFor("alerts", KIOSK), JSON.stringify({ v: 1 }), { qos: 1 }, () => undefined);
    await waitFor(() => closed, "the operator disconnected after publishing an alert");
    expect(gateway.logs.find("publish refused: client disconnected", (l) => l.topic === topicFor("alerts", KIOSK))).toEqual([
      expect.objectContaining({ clientId: operator.options.clientId, reason: "operators may publish only on a kiosk's call/down, not alerts" }),
    ]);
    expect((await gateway.store.listAlerts()).map((a) => a.alertId)).toEqual([alertId]);
    expect(await gateway.store.listRejected(10)).toEqual([]);
  });

  it("stops promptly with operator pages connected over the WebSocket, closing them", async () => {
    const { gateway } = await setup();
    const operator = track(await connectOperator(gateway.httpPort, "alice"));
    let closed = false;
    operator.on("close", () => (closed = true));
    const started = Date.now();
    await gateway.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(() => closed, "the operator's connection closed");
    expect(gateway.logs.find("gateway stopped")).toHaveLength(1);
  });

  it("refuses an operator's call/down to a kiosk that is not registered", async () => {
    const { gateway } = await setup();
    const operator = track(await connectOperator(gateway.httpPort, "alice"));
    let closed = false;
    operator.on("close", () => (closed = true));
    operator.publish(topicFor("callDown", "kz-nobody-9"), JSON.stringify({ v: 1, type: "hangup", callId: "call-0001-abcd", reason: "x" }), { qos: 1 }, () => undefined);
    await waitFor(() => closed, "the operator disconnected");
    expect(gateway.logs.find("publish refused: client disconnected")).toEqual([expect.objectContaining({ reason: "kiosk kz-nobody-9 is not registered" })]);
  });
});

/**
 * What the operator page sees before anyone answers: an alarm on the operators' topic as soon as an
 * alert is stored, and the kiosk's snapshot served to logged-in operators (and to dispatch by the
 * signed link in the webhook body). Also: the page itself is served.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { OPERATOR_ALARMS_TOPIC, type OperatorAlarm, type Snapshot } from "../../shared/call.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type Alert, topicFor } from "../../shared/contract.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { connectRaw, DISPATCH_SECRET, provisionTestKiosk, startTestGateway, tempDir, waitFor, type TestGateway } from "./harness.js";
import { addTestOperator, connectOperator, get, login, OPERATOR_PASSWORD } from "./operator-harness.js";

const KIOSK = "kz-cam-0001";
const OTHER = "kz-cam-0002";

/** Not a real picture, but what the gateway checks of one: the JPEG start and end markers. */
function fakeJpeg(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(20_000), Buffer.from([0xff, 0xd9])]);
}

function alertFor(kioskId: string): Alert {
  // The kiosk's own idea of where it is; the gateway uses the registry's instead.
  return { v: 1, alertId: randomUUID(), kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 1, lon: 2, address: "claimed by the kiosk" } };
}

function snapshotFor(alertId: string, image: Buffer): Snapshot {
  return { v: 1, alertId, takenAt: new Date().toISOString(), contentType: "image/jpeg", data: image.toString("base64") };
}

interface Env {
  gateway: TestGateway;
  receiver: DispatchReceiver;
  kiosk: MqttClient;
  other: MqttClient;
  cookie: string;
}

describe("operator alarms and snapshots", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function connectKiosk(gateway: TestGateway, config: KioskConfig): Promise<MqttClient> {
    const client = await connectRaw(gateway.mqttUrl, { clientId: config.kioskId, username: config.kioskId, password: config.mqtt.password });
    cleanups.push(() => client.endAsync(true));
    await client.subscribeAsync(topicFor("acks", config.kioskId), { qos: 1 });
    return client;
  }

  async function setup(): Promise<Env> {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const receiver = await new DispatchReceiver().start();
    cleanups.push(() => receiver.stop());
    const gateway = await startTestGateway(`${dir.path}/gw`, { dispatch: { url: receiver.url, secret: DISPATCH_SECRET } });
    cleanups.push(() => gateway.stop());
    const kiosk = await connectKiosk(gateway, await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path));
    const other = await connectKiosk(gateway, await provisionTestKiosk(gateway.dataDir, OTHER, gateway.mqttUrl, dir.path));
    await addTestOperator(gateway.dataDir, "alice");
    const cookie = (await login(gateway.httpPort, "alice", OPERATOR_PASSWORD)).cookie ?? "";
    return { gateway, receiver, kiosk, other, cookie };
  }

  async function raise(env: Env, client: MqttClient, kioskId: string): Promise<Alert> {
    const alert = alertFor(kioskId);
    await client.publishAsync(topicFor("alerts", kioskId), JSON.stringify(alert), { qos: 1 });
    await waitFor(async () => (await env.gateway.store.getAlert(alert.alertId)) !== undefined, "the alert stored");
    return alert;
  }

  it("publishes an operator alarm with the kiosk's registered place and snapshot link as soon as the alert is stored", async () => {
    const env = await setup();
    const operator = await connectOperator(env.gateway.httpPort, "alice");
    cleanups.push(() => operator.endAsync(true));
    const alarms: { qos: number; alarm: OperatorAlarm }[] = [];
    operator.on("message", (topic, payload, packet) => {
      if (topic === OPERATOR_ALARMS_TOPIC) alarms.push({ qos: packet.qos, alarm: JSON.parse(payload.toString("utf8")) as OperatorAlarm });
    });
    await operator.subscribeAsync(OPERATOR_ALARMS_TOPIC, { qos: 1 });

    const alert = await raise(env, env.kiosk, KIOSK);
    const { alarm, qos } = await waitFor(() => alarms[0], "the operator alarm");
    expect(qos).toBe(1);
    const stored = await env.gateway.store.getAlert(alert.alertId);
    expect(alarm).toEqual({
      v: 1,
      alertId: alert.alertId,
      kioskId: KIOSK,
      kioskName: null,
      kind: "sos",
      pressedAt: alert.pressedAt,
      receivedAt: stored?.receivedAt,
      location: { lat: 43.25, lon: 76.95, address: `Test road km ${KIOSK}` },
      snapshotUrl: `/api/alerts/${alert.alertId}/snapshot.jpg`,
    });
    // A page that connects later gets the open alarms over HTTP.
    const open = await get(env.gateway.httpPort, "/api/alarms", env.cookie);
    expect(((await open.json()) as { data: { alarms: OperatorAlarm[] } }).data.alarms).toEqual([alarm]);
    expect((await get(env.gateway.httpPort, "/api/alarms")).status).toBe(401);
    // A duplicate of the alert is not announced again.
    await env.kiosk.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(alert), { qos: 1 });
    await waitFor(() => env.gateway.logs.find("duplicate alert: acknowledged again, not forwarded again").length > 0, "the duplicate handled");
    // A round trip on the operator's connection flushes anything queued to it before.
    await operator.subscribeAsync("sos/v1/kiosks/+/call/up", { qos: 1 });
    expect(alarms).toHaveLength(1);
  });

  it("stores a kiosk's snapshot and serves it to a logged-in operator (401 without a session) and to dispatch by its signed link", async () => {
    const env = await setup();
    const { gateway } = env;
    const alert = await raise(env, env.kiosk, KIOSK);
    const path = `/api/alerts/${alert.alertId}/snapshot.jpg`;
    expect((await get(gateway.httpPort, path, env.cookie)).status).toBe(404);

    const image = fakeJpeg();
    await env.kiosk.publishAsync(topicFor("snapshot", KIOSK), JSON.stringify(snapshotFor(alert.alertId, image)), { qos: 1 });
    await waitFor(() => gateway.logs.find("snapshot stored", (l) => l.alertId === alert.alertId).length > 0, "the snapshot stored");

    const res = await get(gateway.httpPort, path, env.cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await res.arrayBuffer()).equals(image)).toBe(true);
    const anonymous = await get(gateway.httpPort, path);
    expect(anonymous.status).toBe(401);
    expect((await get(gateway.httpPort, path, "sos_session=forged")).status).toBe(401);

    // Dispatch has no session: the webhook body carries a link with a token for this alert only.
    const request = await waitFor(() => env.receiver.requests[0], "the alert at dispatch");
    const link = new URL(request.body.snapshotUrl ?? "");
    expect(`${link.protocol}//${link.host}${link.pathname}`).toBe(`http://127.0.0.1:${gateway.httpPort}${path}`);
    const byLink = await fetch(link);
    expect(byLink.status).toBe(200);
    expect(Buffer.from(await byLink.arrayBuffer()).equals(image)).toBe(true);
    expect((await get(gateway.httpPort, `${path}?token=${"A".repeat(43)}`)).status).toBe(401);
    const second = await raise(env, env.kiosk, KIOSK);
    expect((await get(gateway.httpPort, `/api/alerts/${second.alertId}/snapshot.jpg${link.search}`)).status).toBe(401);
  });

  it("refuses a snapshot for another kiosk's alert, and one that is not a JPEG; keeps what was stored", async () => {
    const env = await setup();
    const { gateway } = env;
    const mine = await raise(env, env.kiosk, KIOSK);
    const theirs = await raise(env, env.other, OTHER);
    const image = fakeJpeg();
    await env.kiosk.publishAsync(topicFor("snapshot", KIOSK), JSON.stringify(snapshotFor(mine.alertId, image)), { qos: 1 });
    await waitFor(() => gateway.logs.find("snapshot stored").length > 0, "the legitimate snapshot stored");

    // KIOSK sends a picture for OTHER's alert; OTHER tries to replace KIOSK's picture.
    await env.kiosk.publishAsync(topicFor("snapshot", KIOSK), JSON.stringify(snapshotFor(theirs.alertId, fakeJpeg())), { qos: 1 });
    await env.other.publishAsync(topicFor("snapshot", OTHER), JSON.stringify(snapshotFor(mine.alertId, fakeJpeg())), { qos: 1 });
    await env.kiosk.publishAsync(topicFor("snapshot", KIOSK), JSON.stringify(snapshotFor(mine.alertId, Buffer.from("GIF89a not a jpeg"))), { qos: 1 });
    await waitFor(() => gateway.logs.find("snapshot rejected").length === 3, "three snapshots rejected");
    expect(gateway.logs.find("snapshot rejected").map((l) => [l.kioskId, l.code])).toEqual([
      [KIOSK, "KIOSK_MISMATCH"],
      [OTHER, "KIOSK_MISMATCH"],
      [KIOSK, "PAYLOAD_INVALID"],
    ]);
    expect((await gateway.store.listRejected(10)).map((r) => r.code).sort()).toEqual(["KIOSK_MISMATCH", "KIOSK_MISMATCH", "PAYLOAD_INVALID"]);

    expect((await get(gateway.httpPort, `/api/alerts/${theirs.alertId}/snapshot.jpg`, env.cookie)).status).toBe(404);
    const kept = await get(gateway.httpPort, `/api/alerts/${mine.alertId}/snapshot.jpg`, env.cookie);
    expect(Buffer.from(await kept.arrayBuffer()).equals(image)).toBe(true);
    expect((await get(gateway.httpPort, "/api/alerts/..%2F..%2Fgateway.db/snapshot.jpg", env.cookie)).status).toBe(404);
    // Both kiosks keep their connections: a bad snapshot is refused, not punished.
    expect(env.kiosk.connected && env.other.connected).toBe(true);
  });

  it("keeps a snapshot that arrives before its alert and stores it when the alert does", async () => {
    const env = await setup();
    const alert = alertFor(KIOSK);
    const image = fakeJpeg();
    await env.kiosk.publishAsync(topicFor("snapshot", KIOSK), JSON.stringify(snapshotFor(alert.alertId, image)), { qos: 1 });
    await waitFor(() => env.gateway.logs.find("snapshot waits for its alert").length > 0, "the snapshot held");
    await env.kiosk.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(alert), { qos: 1 });
    await waitFor(() => env.gateway.logs.find("snapshot stored", (l) => l.alertId === alert.alertId).length > 0, "the snapshot stored");
    const res = await get(env.gateway.httpPort, `/api/alerts/${alert.alertId}/snapshot.jpg`, env.cookie);
    expect(Buffer.from(await res.arrayBuffer()).equals(image)).toBe(true);
  });

  it("serves the operator console built by esbuild: the page, one bundle with mqtt.js inside, nothing from outside", async () => {
    const env = await setup();
    const page = await get(env.gateway.httpPort, "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    for (const hook of ['id="remote-video"', 'data-testid="login-form"', 'data-testid="mute"', 'data-testid="hangup"', 'data-testid="accept-call"', 'src="/app.js"']) {
      expect(html).toContain(hook);
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const bundle = await get(env.gateway.httpPort, "/app.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toContain("text/javascript");
    const code = await bundle.text();
    // The call code, the alarm list and mqtt.js's client, all in one file; no module loaded from elsewhere.
    for (const needle of ["sosCall", "RTCPeerConnection", "MqttClient"]) expect(code, needle).toContain(needle);
    expect(code).not.toMatch(/\bimport\s*[("]|from\s*"/);
    expect((await get(env.gateway.httpPort, "/vendor/mqtt.esm.js")).status).toBe(404);
    expect((await get(env.gateway.httpPort, "/style.css")).headers.get("content-type")).toContain("text/css");
    expect((await get(env.gateway.httpPort, "/../package.json")).status).toBe(404);
    expect((await get(env.gateway.httpPort, "/healthz")).status).toBe(200);
  });
});

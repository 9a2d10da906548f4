/**
 * Load shedding in a reconnect storm (gateway/broker/handshake-deadline.ts), on a real gateway and
 * real TCP and TLS connections: while 100 or more connections wait for their CONNACK, one whose
 * CONNECT comes `limits.handshakeDeadlineMs` after its TCP accept is refused at once with "server
 * unavailable" (3), logged and counted; a prompt one is served meanwhile. Alone, the same late
 * CONNECT (a kiosk on a slow link) is served.
 */
import { connect, type Socket } from "node:net";
import { get as httpsGet } from "node:https";
import { connect as connectTls } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttClient } from "mqtt";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { STORM_HANDSHAKES } from "../../gateway/broker/handshake-deadline.js";
import { provisionTestKiosk, startTestGateway, tempDir, type TestGateway, waitFor } from "./harness.js";
import { enrolTestKiosk, identityOf, type SecureGateway, startSecureGateway } from "./security/rig.js";

const DEADLINE_MS = 300;
const LATE_MS = DEADLINE_MS + 200;
const limits = { handshakeDeadlineMs: DEADLINE_MS, connectionBurst: 0 };

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends the kiosk's CONNECT on an open connection `lateMs` after it opened: the CONNACK's return code. */
async function handshake(open: () => Promise<Socket>, kiosk: KioskConfig, lateMs: number): Promise<number> {
  const socket = await open();
  await new Promise((r) => setTimeout(r, lateMs));
  const client = new MqttClient(() => socket, {
    protocolVersion: 4,
    clientId: kiosk.kioskId,
    ...(kiosk.mqtt.username === undefined ? {} : { username: kiosk.mqtt.username, password: kiosk.mqtt.password }),
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      client.once("connect", () => resolve(0));
      client.once("error", (err: Error & { code?: number }) => (typeof err.code === "number" ? resolve(err.code) : reject(err)));
    });
  } finally {
    client.end(true);
  }
}

/** The gateway's /metrics (over HTTPS with its CA when it has one). */
function metricsText(gateway: TestGateway | SecureGateway): Promise<string> {
  if (!("caCertPem" in gateway)) return fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`).then((r) => r.text());
  return new Promise((resolve, reject) => {
    httpsGet(new URL("/metrics", gateway.httpsBase), { ca: gateway.caCertPem }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function refusedOverloaded(gateway: TestGateway): Promise<number> {
  const text = await metricsText(gateway);
  const line = text.split("\n").find((l) => l.startsWith('sos_mqtt_refused_connections_total{reason="overloaded"}'));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

/** Late alone: served. Late in a storm (connections accepted, no CONNECT yet): refused; prompt: served. Storm over: late served. */
async function stormRules(gateway: TestGateway, port: number, open: () => Promise<Socket>, kiosk: KioskConfig): Promise<void> {
  expect(await handshake(open, kiosk, LATE_MS)).toBe(0);
  expect(await refusedOverloaded(gateway)).toBe(0);
  const storm = await Promise.all(Array.from({ length: STORM_HANDSHAKES + 10 }, () => tcp(port)));
  try {
    expect(await handshake(open, kiosk, LATE_MS)).toBe(3);
    expect(await handshake(open, kiosk, 0)).toBe(0);
    expect(await refusedOverloaded(gateway)).toBe(1);
    const logged = await waitFor(() => gateway.logs.find("connection refused").find((l) => String(l.reason).startsWith("gateway overloaded")), "the refusal logged");
    expect(logged.reason).toMatch(/limits\.handshakeDeadlineMs 300/);
  } finally {
    for (const s of storm) s.destroy();
  }
  // The storm over (its sockets' closes reach the gateway within milliseconds): the late CONNECT is served again.
  await new Promise((r) => setTimeout(r, 200));
  expect(await handshake(open, kiosk, LATE_MS)).toBe(0);
}

describe("an overloaded gateway, on its password listener", () => {
  const dir = tempDir("sos-storm-");
  let gateway: TestGateway;
  let kiosk: KioskConfig;
  beforeAll(async () => {
    gateway = await startTestGateway(dir.path, { limits });
    kiosk = await provisionTestKiosk(gateway.dataDir, "kz-storm-0001", gateway.mqttUrl, dir.path);
  });
  afterAll(async () => {
    await gateway.stop();
    dir.remove();
  });

  it("refuses a late CONNECT with 'server unavailable' only while a storm of handshakes waits, serves prompt ones meanwhile and late ones alone, and counts and logs the refusal", async () => {
    await stormRules(gateway, gateway.mqttPort, () => tcp(gateway.mqttPort), kiosk);
  });
});

describe("an overloaded gateway, on its TLS listener", () => {
  const dir = tempDir("sos-storm-tls-");
  let gateway: SecureGateway;
  let kiosk: KioskConfig;
  beforeAll(async () => {
    gateway = await startSecureGateway(dir.path, { limits });
    kiosk = await enrolTestKiosk(gateway, "kz-storm-0002", dir.path);
  });
  afterAll(async () => {
    await gateway.stop();
    dir.remove();
  });

  it("counts a connection's wait from its TCP accept, before the TLS handshake, and sheds it alike", async () => {
    const port = gateway.mqttsPort ?? 0;
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connectTls({ host: "127.0.0.1", port, ca: gateway.caCertPem, ...identityOf(kiosk) }, () => resolve(socket));
        socket.once("error", reject);
      });
    await stormRules(gateway, port, open, kiosk);
  });
});

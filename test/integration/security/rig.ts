/**
 * The security suite's rig: gateways with a real CA (MQTT over TLS, HTTPS) on ephemeral ports,
 * kiosks enrolled with the real `sos enroll` code, raw mqtt.js clients over TLS with any certificate,
 * and one record of every log line and every secret the suite used (checked at its end).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import mqtt from "mqtt";
import { initCa, pkiPaths } from "../../../gateway/pki/ca.js";
import { createTokens } from "../../../gateway/security/tokens.js";
import { enrollKiosk } from "../../../scripts/commands/enroll.js";
import { createEnrolmentTokens } from "../../../scripts/commands/token.js";
import { httpsRequest, type HttpsReply } from "../../../scripts/lib/https.js";
import type { GatewayConfigInput } from "../../../shared/config/gateway.js";
import { type KioskConfig, loadKioskConfig } from "../../../shared/config/kiosk.js";
import { createCaCertificate, generateKeyPair, importKeyPair, issueCertificate } from "../../../shared/pki/x509.js";
import type { LogCapture } from "../../fixtures/log-capture.js";
import { fastTimings, onStore, openTargetStore, sqliteStore, startTestGateway, startTestKiosk, type TestGateway, type TestKiosk } from "../harness.js";

/** Every log capture and every secret of the suite. */
export const suite = {
  /** The store the suite's gateways run on (set by the file that runs the suite: SQLite, or PostgreSQL in test/pg/). */
  store: sqliteStore,
  logs: [] as LogCapture[],
  /** Extra log text (CLI output). */
  text: [] as string[],
  secrets: new Set<string>(),
};

export function rememberSecret(secret: string): string {
  suite.secrets.add(secret);
  return secret;
}

/** A PEM's base64 body lines: each must stay out of every log. */
export function rememberPem(pem: string): void {
  for (const line of pem.split("\n")) if (line !== "" && !line.startsWith("-----") && line.length >= 32) suite.secrets.add(line.trim());
}

export interface SecureGateway extends TestGateway {
  readonly caCertPem: string;
  readonly mqttsUrl: string;
  readonly httpsBase: URL;
}

export async function startSecureGateway(root: string, overrides: Partial<GatewayConfigInput> = {}): Promise<SecureGateway> {
  const dataDir = join(root, "gw");
  await initCa(dataDir, { serverNames: ["127.0.0.1", "localhost"] });
  return startSecureGatewayIn(dataDir, { ...onStore(suite.store), ...overrides });
}

/** A gateway on a data folder that has its CA already (a restart, or another store for the same folder). */
export async function startSecureGatewayIn(dataDir: string, overrides: Partial<GatewayConfigInput> = {}): Promise<SecureGateway> {
  const paths = pkiPaths(dataDir);
  rememberPem(readFileSync(paths.caKey, "utf8"));
  rememberPem(readFileSync(paths.serverKey, "utf8"));
  const gateway = await startTestGateway(dataDir, { mqtts: { host: "127.0.0.1", port: 0 }, ...overrides });
  suite.logs.push(gateway.logs);
  return {
    ...gateway,
    caCertPem: readFileSync(paths.caCert, "utf8"),
    mqttsUrl: `mqtts://127.0.0.1:${String(gateway.mqttsPort)}`,
    httpsBase: new URL(`https://127.0.0.1:${gateway.httpPort}`),
  };
}

export async function newToken(gateway: SecureGateway, expiresMs?: number, now?: Date): Promise<string> {
  let token: string | undefined;
  if (expiresMs === undefined) {
    token = (await createEnrolmentTokens({ dataDir: gateway.dataDir, store: gateway.storeUrl, count: 1 })).tokens[0];
  } else {
    const store = await openTargetStore(gateway);
    try {
      token = (await createTokens(store.security, { count: 1, expiresMs, site: null, now: now ?? new Date() })).tokens[0];
    } finally {
      await store.close();
    }
  }
  if (token === undefined) throw new Error("no token created");
  return rememberSecret(token);
}

/** Enrols a kiosk with the real `sos enroll` code; returns its config with fast test timings. */
export async function enrolTestKiosk(gateway: SecureGateway, kioskId: string, root: string, token?: string): Promise<KioskConfig> {
  const out = join(root, kioskId);
  await enrollKiosk({
    gateway: gateway.httpsBase.href,
    token: token ?? (await newToken(gateway)),
    id: kioskId,
    lat: 43.25,
    lon: 76.95,
    address: `Test road km ${kioskId}`,
    caCert: pkiPaths(gateway.dataDir).caCert,
    out,
    force: true,
  });
  const config = fastTimings(loadKioskConfig(join(out, "kiosk.json")));
  if (config.mqtt.tls !== undefined) rememberPem(readFileSync(config.mqtt.tls.key, "utf8"));
  return config;
}

export async function startSuiteKiosk(config: KioskConfig): Promise<TestKiosk> {
  const kiosk = await startTestKiosk(config);
  suite.logs.push(kiosk.logs);
  return kiosk;
}

export interface TlsIdentity {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/** The files of an enrolled kiosk, for raw clients. */
export function identityOf(config: KioskConfig): { cert: Buffer; key: Buffer } {
  const tls = config.mqtt.tls;
  if (tls === undefined) throw new Error("not a certificate kiosk");
  return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
}

export function connectTls(gateway: SecureGateway, clientId: string, identity: TlsIdentity, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(gateway.mqttsUrl, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clientId,
    ca: gateway.caCertPem,
    rejectUnauthorized: true,
    ...identity,
    ...extra,
  });
}

/** A key and certificate for `commonName`: from a CA of its own (`foreign`), or from the gateway's CA with any dates. */
export async function makeIdentity(
  commonName: string,
  options: { gateway?: SecureGateway; notBefore?: Date; notAfter?: Date; record?: boolean },
): Promise<{ cert: string; key: string; serial: string }> {
  const key = await generateKeyPair();
  rememberPem(key.privateKeyPem);
  let caCertPem: string;
  let caKeys: CryptoKeyPairLike;
  if (options.gateway === undefined) {
    const ca = await generateKeyPair();
    caCertPem = await createCaCertificate(ca.keys, "Some other CA", 30);
    caKeys = ca.keys;
  } else {
    const paths = pkiPaths(options.gateway.dataDir);
    caCertPem = readFileSync(paths.caCert, "utf8");
    caKeys = await importKeyPair(readFileSync(paths.caKey, "utf8"), caCertPem);
  }
  const issued = await issueCertificate({
    caCertPem,
    caKeys,
    subjectPublicKey: key.keys.publicKey,
    commonName,
    usage: "client",
    ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
    notAfter: options.notAfter ?? new Date(Date.now() + 86_400_000),
  });
  if (options.record === true && options.gateway !== undefined) {
    const store = await openTargetStore(options.gateway);
    try {
      await store.security.recordCertificate({ serial: issued.serial, kioskId: commonName, fingerprint: issued.fingerprint, notBefore: issued.notBefore, notAfter: issued.notAfter }, new Date());
    } finally {
      await store.close();
    }
  }
  return { cert: issued.pem, key: key.privateKeyPem, serial: issued.serial };
}

type CryptoKeyPairLike = Awaited<ReturnType<typeof importKeyPair>>;

/** A JSON request to the gateway's HTTPS port, trusting its CA. */
export async function api(gateway: SecureGateway, method: "GET" | "POST", path: string, options: { body?: unknown; cookie?: string; origin?: string } = {}): Promise<HttpsReply & { json: { status: string; data?: Record<string, unknown>; error?: { code: string; message: string } } }> {
  const headers = { ...(options.cookie === undefined ? {} : { cookie: options.cookie }), ...(options.origin === undefined ? {} : { origin: options.origin }) };
  const reply = await httpsRequest(new URL(path, gateway.httpsBase), {
    method,
    ca: gateway.caCertPem,
    ...(options.body === undefined ? {} : { body: options.body }),
    headers,
  });
  return { ...reply, json: JSON.parse(reply.text) as { status: string; data?: Record<string, unknown>; error?: { code: string; message: string } } };
}

/** Logs in over HTTPS; returns the cookie for later requests and the raw Set-Cookie. */
export async function loginHttps(gateway: SecureGateway, name: string, password: string): Promise<{ status: number; cookie: string | undefined; setCookie: string | undefined; mqttToken: string | undefined }> {
  const reply = await api(gateway, "POST", "/api/login", { body: { name, password } });
  const setCookie = ([] as string[]).concat(reply.headers["set-cookie"] ?? []).find((c) => c.startsWith("sos_session="));
  const cookie = setCookie?.split(";")[0];
  if (cookie !== undefined) rememberSecret(cookie.slice("sos_session=".length));
  const mqttToken = (reply.json.data?.mqtt as { password?: string } | undefined)?.password;
  if (mqttToken !== undefined) rememberSecret(mqttToken);
  return { status: reply.status, cookie, setCookie, mqttToken };
}

/**
 * Connects and resolves with how the connection was refused: the CONNACK error (with its MQTT
 * code), or the TLS connection closed by the gateway; undefined (after closing) when it connected.
 */
export function refusal(connecting: Promise<MqttClient> | (() => MqttClient)): Promise<(Error & { code?: number | string }) | undefined> {
  if (typeof connecting !== "function") {
    return connecting.then(
      async (c) => {
        await c.endAsync(true);
        return undefined;
      },
      (err: unknown) => err as Error & { code?: number | string },
    );
  }
  const client = connecting();
  return new Promise((resolve) => {
    client.once("connect", () => {
      void client.endAsync(true).then(() => resolve(undefined));
    });
    client.once("error", (err: Error & { code?: number | string }) => {
      client.end(true);
      resolve(err);
    });
    client.once("close", () => {
      client.end(true);
      resolve(Object.assign(new Error("connection closed by the gateway"), { code: "CLOSED" }));
    });
  });
}

/** A raw TLS client that is not awaited (for refusals that close the socket without a CONNACK). */
export function tlsClient(gateway: SecureGateway, clientId: string, identity: TlsIdentity): () => MqttClient {
  return () => mqtt.connect(gateway.mqttsUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clientId, ca: gateway.caCertPem, rejectUnauthorized: true, ...identity });
}

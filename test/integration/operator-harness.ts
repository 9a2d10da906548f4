/**
 * Helpers for tests of the operator side: operators added with the real CLI code, logins over real
 * HTTP, and mqtt.js over the real WebSocket at /mqtt.
 */
import { request } from "node:http";
import { Readable } from "node:stream";
import mqtt, { type MqttClient } from "mqtt";
import { addOperator } from "../../scripts/commands/operator.js";
import type { StoreTarget } from "./harness.js";

export const OPERATOR_PASSWORD = "correct horse battery staple";

/** Adds an operator the way `sos operator add NAME --password-stdin` does (in a data folder, or a gateway's store). */
export async function addTestOperator(gateway: string | StoreTarget, name: string, password = OPERATOR_PASSWORD): Promise<void> {
  const target = typeof gateway === "string" ? { dataDir: gateway } : gateway;
  await addOperator(name, { dataDir: target.dataDir, store: target.storeUrl, passwordStdin: true }, Readable.from([`${password}\n`]));
}

export interface LoginData {
  operator: string;
  expiresAt: string;
  mqtt: { path: string; username: string; password: string; clientId: string };
  iceServers: unknown[];
}

export interface LoginReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { status: string; data?: LoginData; error?: { code: string; message: string } };
  /** `sos_session=...`, ready for a Cookie header; undefined when none was set. */
  readonly cookie: string | undefined;
}

export function httpBase(httpPort: number): string {
  return `http://127.0.0.1:${httpPort}`;
}

export async function login(httpPort: number, name: string, password: string): Promise<LoginReply> {
  const res = await fetch(`${httpBase(httpPort)}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("sos_session="));
  return { status: res.status, headers: res.headers, body: (await res.json()) as LoginReply["body"], cookie: setCookie?.split(";")[0] };
}

/** GET with an optional session cookie. */
export function get(httpPort: number, path: string, cookie?: string): Promise<Response> {
  return fetch(`${httpBase(httpPort)}${path}`, { headers: cookie === undefined ? {} : { cookie } });
}

/** mqtt.js over ws://127.0.0.1:<httpPort>/mqtt, as the operator page connects. */
export function connectOperatorWs(httpPort: number, options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(`ws://127.0.0.1:${httpPort}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
}

/** Resolves with the connection error (or undefined if it connected, after closing it). */
export async function refusal(connecting: Promise<MqttClient>): Promise<(Error & { code?: number }) | undefined> {
  return connecting.then(
    async (client) => {
      await client.endAsync(true);
      return undefined;
    },
    (err: unknown) => err as Error & { code?: number },
  );
}

/**
 * Logs `name` in over HTTP and connects over the WebSocket with the session's MQTT token (the only
 * credential /mqtt takes), as the console does; `clientId` defaults to the session's own.
 */
export async function connectOperator(httpPort: number, name: string, options: mqtt.IClientOptions & { password?: string } = {}): Promise<MqttClient> {
  const reply = await login(httpPort, name, options.password ?? OPERATOR_PASSWORD);
  const mqttCreds = reply.body.data?.mqtt;
  if (mqttCreds === undefined) throw new Error(`login of ${name} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return connectOperatorWs(httpPort, { clientId: mqttCreds.clientId, ...options, username: mqttCreds.username, password: mqttCreds.password });
}

/** A console's event stream (GET /api/events) as a page holds it: what arrived, and whether it ended. */
export interface EventStreamReader {
  readonly ended: () => boolean;
  readonly data: () => string;
  /** The data of every `type` event so far, parsed. */
  readonly events: <T = unknown>(type: string) => T[];
}

/** Opens the event stream with a session's cookie; `defer` closes it after the test. */
export function openEventStream(port: number, cookie: string, defer: (f: () => unknown) => void): EventStreamReader {
  let ended = false;
  let data = "";
  const req = request({ host: "127.0.0.1", port, path: "/api/events", headers: { cookie } }, (res) => {
    res.on("data", (d: Buffer) => (data += d.toString("utf8")));
    res.on("close", () => (ended = true));
  });
  req.on("error", () => (ended = true));
  req.end();
  defer(() => req.destroy());
  return {
    ended: () => ended,
    data: () => data,
    events: <T>(type: string) =>
      data
        .split("\n\n")
        .filter((block) => block.startsWith(`event: ${type}\n`))
        .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)) as T),
  };
}

/**
 * The rig of the broker-limits tests: a gateway delivering to a dispatch receiver, a real kiosk agent
 * (VICTIM) whose press must still be delivered and acknowledged, and a misbehaving kiosk (ROGUE)
 * driven by raw mqtt.js clients that record every packet the broker sent them.
 */
import { randomUUID } from "node:crypto";
import type { IClientOptions, MqttClient } from "mqtt";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect } from "vitest";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type Alert, topicFor } from "../../shared/contract.js";
import { type Defer, startSystem, type TestSystem } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, startTestKiosk, waitFor, type TestKiosk } from "./harness.js";

export const ROGUE = "kz-lim-0100";
export const VICTIM = "kz-lim-0200";

export interface LimitsEnv extends TestSystem {
  readonly rogue: KioskConfig;
  readonly victim: TestKiosk;
}

export async function startLimitsEnv(defer: Defer, overrides: Partial<GatewayConfigInput> = {}): Promise<LimitsEnv> {
  const system = await startSystem(defer, overrides);
  const rogue = await provisionTestKiosk(system.gateway.dataDir, ROGUE, system.gateway.mqttUrl, system.dir);
  const victim = await startTestKiosk(await provisionTestKiosk(system.gateway.dataDir, VICTIM, system.gateway.mqttUrl, system.dir));
  defer(() => victim.stop());
  await waitFor(() => victim.logs.find("connected to gateway").length > 0, "the victim kiosk connected");
  return { ...system, rogue, victim };
}

/** A raw client and what happened to it: the packets the broker sent after the CONNACK (by command) and whether the connection closed. */
export interface Watched {
  readonly client: MqttClient;
  readonly received: string[];
  closed(): boolean;
}

export function watch(client: MqttClient, defer: Defer): Watched {
  defer(() => client.endAsync(true));
  const received: string[] = [];
  let closed = false;
  client.on("packetreceive", (packet) => received.push(packet.cmd));
  client.on("close", () => (closed = true));
  return { client, received, closed: () => closed };
}

/** ROGUE, connected with its own (valid) credentials. */
export async function connectRogue(env: LimitsEnv, defer: Defer, extra: IClientOptions = {}): Promise<Watched> {
  const client = await connectRaw(env.gateway.mqttUrl, { clientId: ROGUE, username: ROGUE, password: env.rogue.mqtt.password, ...extra });
  return watch(client, defer);
}

export function alertFor(kioskId: string): Alert {
  return { v: 1, alertId: randomUUID(), kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "somewhere" } };
}

/** The alert's JSON padded with spaces (still a valid alert) to `bytes`. */
export function paddedAlert(kioskId: string, bytes: number): Buffer {
  const json = JSON.stringify(alertFor(kioskId));
  return Buffer.from(json.padEnd(bytes, " "));
}

/** The legitimate kiosk's press still reaches dispatch and is acknowledged; nothing of ROGUE's ever did. */
export async function victimStillDelivers(env: LimitsEnv): Promise<void> {
  const before = env.receiver.requests.length;
  env.victim.button.press();
  await waitFor(() => env.receiver.requests.length > before, "the legitimate kiosk's alert at dispatch");
  await waitFor(() => env.victim.outbox.depth === 0, "the legitimate kiosk's alert acknowledged");
  expect(env.receiver.requests.map((r) => r.body.kioskId).filter((id) => id !== VICTIM)).toEqual([]);
  expect((await env.gateway.store.listAlerts()).filter((a) => a.kioskId === ROGUE)).toEqual([]);
}

/** The topic of ROGUE's contract entry `name`. */
export const rogueTopic = (name: Parameters<typeof topicFor>[0]): string => topicFor(name, ROGUE);

/** A counter's value for exactly these labels (0 when the series does not exist yet). */
export async function counter(env: LimitsEnv, name: string, labels: Record<string, string>): Promise<number> {
  const families = parsePrometheusTextFormat((await env.gateway.metrics.render()).body);
  const sample = families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample === undefined ? 0 : Number(sample.value);
}

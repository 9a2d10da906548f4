/**
 * For tests of who may say what in a call: a real gateway, kiosks as raw mqtt.js clients with their
 * real credentials (so a test can make one misbehave), alarms raised through the real alert path,
 * and operator pages as mqtt.js clients on the real WebSocket, recording what reaches them.
 */
import { randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import { topicFor } from "../../shared/contract.js";
import type { Defer } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, startTestGateway, tempDir, type TestGateway, waitFor } from "./harness.js";
import { addTestOperator, connectOperator } from "./operator-harness.js";

export interface RawKiosk {
  readonly kioskId: string;
  readonly client: MqttClient;
  /** What reached the kiosk on its call/down. */
  readonly down: Record<string, unknown>[];
  /** Raises an SOS alarm through the alert path; resolves with its id once the gateway stored it. */
  raise(): Promise<string>;
  /** Publishes on the kiosk's own call/up (QoS 1, acknowledged by the broker). */
  callUp(message: Record<string, unknown>, options?: { retain?: boolean }): Promise<void>;
}

export interface OperatorPage {
  readonly client: MqttClient;
  /** Every call/up message that reached the page, with its topic. */
  readonly received: { topic: string; body: Record<string, unknown> }[];
  callDown(kioskId: string, message: Record<string, unknown>): Promise<void>;
}

export async function startCallRig(
  defer: Defer,
  kioskIds: readonly string[],
  overrides: Partial<GatewayConfigInput> = {},
): Promise<{ gateway: TestGateway; kiosks: RawKiosk[]; operator: (name: string) => Promise<OperatorPage> }> {
  const dir = tempDir();
  defer(() => dir.remove());
  const gateway = await startTestGateway(`${dir.path}/gw`, overrides);
  defer(() => gateway.stop());
  const kiosks: RawKiosk[] = [];
  for (const kioskId of kioskIds) {
    const config = await provisionTestKiosk(gateway.dataDir, kioskId, gateway.mqttUrl, dir.path);
    const client = await connectRaw(gateway.mqttUrl, { clientId: kioskId, username: config.mqtt.username, password: config.mqtt.password });
    defer(() => client.endAsync(true));
    const down: Record<string, unknown>[] = [];
    client.on("message", (_topic, payload) => down.push(parsed(payload)));
    await client.subscribeAsync(topicFor("callDown", kioskId), { qos: 1 });
    kiosks.push({
      kioskId,
      client,
      down,
      raise: async () => {
        const alertId = randomUUID();
        const alert = { v: 1, alertId, kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: `${kioskId}'s address` } };
        await client.publishAsync(topicFor("alerts", kioskId), JSON.stringify(alert), { qos: 1 });
        await waitFor(async () => (await gateway.store.getAlert(alertId)) !== undefined, `alarm of ${kioskId} stored`);
        return alertId;
      },
      callUp: async (message, options = {}) => void (await client.publishAsync(topicFor("callUp", kioskId), JSON.stringify({ v: 1, ...message }), { qos: 1, retain: options.retain ?? false })),
    });
  }
  const operator = async (name: string): Promise<OperatorPage> => {
    if ((await gateway.store.getOperator(name)) === undefined) await addTestOperator(gateway.dataDir, name);
    const client = await connectOperator(gateway.httpPort, name);
    defer(() => client.endAsync(true));
    const received: OperatorPage["received"] = [];
    client.on("message", (topic, payload) => received.push({ topic, body: parsed(payload) }));
    await client.subscribeAsync("sos/v1/kiosks/+/call/up", { qos: 1 });
    return { client, received, callDown: async (kioskId, message) => void (await client.publishAsync(topicFor("callDown", kioskId), JSON.stringify({ v: 1, ...message }), { qos: 1 })) };
  };
  return { gateway, kiosks, operator };
}

/** A message as JSON, or what it was when it is not JSON. */
function parsed(payload: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
  } catch {
    return { unparsed: payload.toString("utf8") };
  }
}

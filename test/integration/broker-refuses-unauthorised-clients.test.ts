import { randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type Alert, topicFor } from "../../shared/contract.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import {
  connectRaw,
  DISPATCH_SECRET,
  provisionTestKiosk,
  startTestGateway,
  startTestKiosk,
  tempDir,
  waitFor,
  type TestGateway,
  type TestKiosk,
} from "./harness.js";

const ROGUE = "kz-hwy-0100";
const VICTIM = "kz-hwy-0200";

function alertFor(kioskId: string): Alert {
  return {
    v: 1,
    alertId: randomUUID(),
    kioskId,
    kind: "sos",
    pressedAt: new Date().toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "somewhere" },
  };
}

interface Env {
  gateway: TestGateway;
  receiver: DispatchReceiver;
  rogue: KioskConfig;
  victim: TestKiosk;
}

describe("the broker refuses unauthorised clients, publishes and subscriptions", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  /** A gateway with two provisioned kiosks: ROGUE (driven by raw clients) and VICTIM (a real, running kiosk agent). */
  async function setup(): Promise<Env> {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const receiver = await new DispatchReceiver().start();
    cleanups.push(() => receiver.stop());
    const gateway = await startTestGateway(`${dir.path}/gw`, { dispatch: { url: receiver.url, secret: DISPATCH_SECRET } });
    cleanups.push(() => gateway.stop());
    const rogue = await provisionTestKiosk(gateway.dataDir, ROGUE, gateway.mqttUrl, dir.path);
    const victimConfig = await provisionTestKiosk(gateway.dataDir, VICTIM, gateway.mqttUrl, dir.path);
    const victim = await startTestKiosk(victimConfig);
    cleanups.push(() => victim.stop());
    await waitFor(() => victim.logs.find("connected to gateway").length > 0, "victim kiosk connected");
    return { gateway, receiver, rogue, victim };
  }

  async function connectRogue(env: Env): Promise<MqttClient> {
    const client = await connectRaw(env.gateway.mqttUrl, { clientId: ROGUE, username: ROGUE, password: env.rogue.mqtt.password });
    cleanups.push(() => client.endAsync(true));
    return client;
  }

  /** The legitimate kiosk's press still reaches dispatch, and nothing else ever did. */
  async function legitimateKioskStillDelivers(env: Env): Promise<void> {
    env.victim.button.press();
    const request = await waitFor(() => env.receiver.requests[0], "the legitimate kiosk's alert at dispatch");
    expect(request.body.kioskId).toBe(VICTIM);
    await waitFor(() => env.victim.outbox.depth === 0, "the legitimate kiosk's alert acknowledged");
    const stored = await env.gateway.store.listAlerts();
    expect(stored.map((a) => a.kioskId)).toEqual([VICTIM]);
    expect(env.receiver.requests.map((r) => r.body.kioskId)).toEqual([VICTIM]);
  }

  it("refuses connections without credentials, with a wrong password, for an unknown kiosk or with a client id that is not the kiosk id", async () => {
    const env = await setup();
    const { gateway, rogue } = env;
    const attempts: { what: string; options: Parameters<typeof connectRaw>[1]; returnCode: number; reason: string }[] = [
      { what: "no credentials", options: { clientId: ROGUE }, returnCode: 4, reason: "no username or password" },
      { what: "wrong password", options: { clientId: ROGUE, username: ROGUE, password: `${rogue.mqtt.password}x` }, returnCode: 4, reason: "wrong password" },
      { what: "unknown kiosk", options: { clientId: "kz-hwy-9999", username: "kz-hwy-9999", password: rogue.mqtt.password }, returnCode: 4, reason: "unknown kiosk" },
      // ROGUE's valid credentials, presented under VICTIM's client id (which would take over VICTIM's session).
      { what: "client id differs from username", options: { clientId: VICTIM, username: ROGUE, password: rogue.mqtt.password }, returnCode: 2, reason: "client id must equal the kiosk id" },
    ];

    for (const attempt of attempts) {
      const refused = await connectRaw(gateway.mqttUrl, attempt.options).then(
        async (client) => {
          await client.endAsync(true);
          return undefined;
        },
        (err: unknown) => err as Error & { code?: number },
      );
      expect(refused, `${attempt.what}: connection must be refused`).toBeDefined();
      expect(refused?.code, attempt.what).toBe(attempt.returnCode);
      const logged = await waitFor(
        () => gateway.logs.find("connection refused", (l) => l.reason === attempt.reason)[0],
        `'connection refused' logged for ${attempt.what}`,
      );
      expect(logged).toMatchObject({ level: "warn", clientId: attempt.options.clientId });
    }
    expect(gateway.logs.find("connection refused")).toHaveLength(attempts.length);
    expect(gateway.logs.find("kiosk connected", (l) => l.kioskId === ROGUE)).toHaveLength(0);
    // The session of the kiosk whose client id was borrowed was not taken over.
    expect(gateway.logs.find("kiosk disconnected", (l) => l.kioskId === VICTIM)).toHaveLength(0);

    await legitimateKioskStillDelivers(env);
  });

  it.each([
    {
      what: "another kiosk's alerts topic",
      topic: topicFor("alerts", VICTIM),
      payload: (): string => JSON.stringify(alertFor(VICTIM)),
      reason: `topic belongs to kiosk ${VICTIM}`,
    },
    {
      what: "its own acks topic (gateway to kiosk)",
      topic: topicFor("acks", ROGUE),
      payload: (): string => JSON.stringify({ v: 1, alertId: randomUUID(), status: "ok", data: { receivedAt: new Date().toISOString(), duplicate: false } }),
      reason: "acks is published by the gateway, not by kiosks",
    },
    {
      what: "a topic outside sos/v1",
      topic: `sos/v2/kiosks/${ROGUE}/alerts`,
      payload: (): string => JSON.stringify(alertFor(ROGUE)),
      reason: "topic is not in the sos/v1 contract",
    },
  ])("disconnects a kiosk publishing to $what and stores nothing", async ({ topic, payload, reason }) => {
    const env = await setup();
    const { gateway } = env;
    const rogue = await connectRogue(env);
    let closed = false;
    rogue.on("close", () => {
      closed = true;
    });
    // Neither resolved nor rejected once the broker drops the connection; do not await it.
    rogue.publish(topic, payload(), { qos: 1 }, () => undefined);

    await waitFor(() => closed, "the rogue kiosk's connection closed by the broker");
    const logged = await waitFor(() => gateway.logs.find("publish refused: client disconnected")[0], "'publish refused' logged");
    expect(logged).toMatchObject({ level: "warn", clientId: ROGUE, topic, reason });
    await waitFor(() => gateway.logs.find("kiosk disconnected", (l) => l.kioskId === ROGUE).length > 0, "the gateway saw the rogue kiosk go");
    expect(rogue.connected).toBe(false);

    // The refusal happens before the alert pipeline: nothing stored (for either kiosk), nothing rejected, nothing forwarded.
    expect(await gateway.store.listAlerts()).toEqual([]);
    expect(await gateway.store.listRejected(10)).toEqual([]);
    expect(env.receiver.requests).toEqual([]);

    await legitimateKioskStillDelivers(env);
  });

  it("refuses subscriptions to another kiosk's acks and to wildcards by disconnecting, and the refused client receives nothing", async () => {
    const env = await setup();
    const { gateway } = env;
    const received: string[] = [];

    const filters = [
      { filter: topicFor("acks", VICTIM), reason: `topic belongs to kiosk ${VICTIM}` },
      { filter: "#", reason: "wildcard subscriptions are not allowed for kiosks" },
      { filter: "sos/v1/kiosks/+/acks", reason: "wildcard subscriptions are not allowed for kiosks" },
    ];
    for (const { filter, reason } of filters) {
      const rogue = await connectRogue(env);
      rogue.on("message", (topic) => received.push(topic));
      // A refused filter costs the connection: no SUBACK, mqtt.js rejects with "Connection closed".
      const err = await rogue.subscribeAsync(filter, { qos: 1 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message, `subscription to ${filter} must be refused`).toBe("Connection closed");
      await waitFor(() => !rogue.connected, "the rogue kiosk disconnected");
      expect(gateway.logs.find("subscription refused: client disconnected", (l) => l.topic === filter)).toEqual([
        expect.objectContaining({ level: "warn", clientId: ROGUE, reason, label: "not-allowed" }),
      ]);
    }

    // Own acks are allowed: proves the ACL is not simply refusing everything.
    const rogue = await connectRogue(env);
    rogue.on("message", (topic) => received.push(topic));
    const granted = await rogue.subscribeAsync(topicFor("acks", ROGUE), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);

    await legitimateKioskStillDelivers(env);
    // VICTIM's ack went out; a round trip on the rogue's connection flushes anything queued to it before.
    await rogue.unsubscribeAsync(topicFor("acks", ROGUE));
    expect(received).toEqual([]);
    expect(rogue.connected).toBe(true);
  });
});

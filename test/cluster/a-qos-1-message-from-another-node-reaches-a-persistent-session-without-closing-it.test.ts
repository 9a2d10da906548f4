/**
 * A kiosk holds a persistent MQTT session (clean: false) on node A; an operator page on node B
 * publishes QoS 1 messages on the kiosk's call/down topic. Each reaches the kiosk once, and node A
 * keeps the kiosk's connection: Aedes delivers a QoS 1 message to a persistent session only after
 * finding it in its own persistence's queue, where a message routed from another node never was
 * (gateway/broker/routed-packets.ts); before that fix node A closed the kiosk's connection on the
 * first one ("no such packet") and the message was lost. Once acknowledged, nothing is replayed on
 * the kiosk's next connection. Two real gateways on one PostgreSQL database, a real redis-server,
 * the kiosk and the page as raw mqtt.js clients with their real credentials.
 */
import { describe, expect, it } from "vitest";
import { topicFor } from "../../shared/contract.js";
import { connectRaw, provisionTestKiosk, waitFor } from "../integration/harness.js";
import { addTestOperator, connectOperator } from "../integration/operator-harness.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSK = "kz-clu-0501";

describe("QoS 1 messages from another node to a persistent session", () => {
  const { defer, rig } = clusterRigs();

  it("an operator page on node B reaches a kiosk's persistent session on node A, each message once, without its connection being closed", async () => {
    const { db, dir, node, routed } = await rig();
    const a = await node("gw-a");
    const b = await node("gw-b");
    await routed(a, b);

    const config = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, KIOSK, a.mqttUrl, dir);
    await addTestOperator({ dataDir: a.dataDir, storeUrl: db.url }, "op-b");
    const credentials = { clientId: KIOSK, username: config.mqtt.username, password: config.mqtt.password, clean: false };
    const kiosk = await connectRaw(a.mqttUrl, credentials);
    defer(() => kiosk.endAsync(true));
    let closed = false;
    kiosk.on("close", () => (closed = true));
    const got: string[] = [];
    kiosk.on("message", (_topic, payload) => got.push(payload.toString()));
    await kiosk.subscribeAsync(topicFor("callDown", KIOSK), { qos: 1 });
    // The subscription reaches Redis without its SUBACK waiting for it.
    await new Promise((r) => setTimeout(r, 300));

    const page = await connectOperator(b.httpPort, "op-b");
    defer(() => page.endAsync(true));
    const sent = [1, 2, 3].map((n) => JSON.stringify({ v: 1, type: "hangup", callId: `call-clu-050${n}`, reason: `test ${n}` }));
    for (const message of sent) await page.publishAsync(topicFor("callDown", KIOSK), message, { qos: 1 });
    await waitFor(() => got.length >= sent.length || closed, "the messages at the kiosk on node A", 15_000);
    await new Promise((r) => setTimeout(r, 500));

    expect(closed).toBe(false);
    expect(got).toEqual(sent);
    expect(a.logs.find("kiosk disconnected", (l) => l.kioskId === KIOSK)).toEqual([]);
    expect(a.logs.find("client error", (l) => l.clientId === KIOSK)).toEqual([]);

    // Acknowledged (PUBACK): the session on node A holds none of them for the kiosk's next connection.
    await kiosk.endAsync();
    const again = await connectRaw(a.mqttUrl, credentials);
    defer(() => again.endAsync(true));
    const replayed: string[] = [];
    again.on("message", (_topic, payload) => replayed.push(payload.toString()));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(replayed).toEqual([]);
    // …and the session still holds the subscription: a new message reaches the kiosk.
    const fourth = JSON.stringify({ v: 1, type: "hangup", callId: "call-clu-0504", reason: "test 4" });
    await page.publishAsync(topicFor("callDown", KIOSK), fourth, { qos: 1 });
    await waitFor(() => replayed.length > 0, "a message after the reconnect", 15_000);
    expect(replayed).toEqual([fourth]);
  });

  it("a persistent session that moved to another node is dropped on the node it left: nothing more is queued there for it", async () => {
    const { db, dir, node, routed } = await rig();
    const a = await node("gw-a");
    const b = await node("gw-b");
    await routed(a, b);
    const config = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, "kz-clu-0502", a.mqttUrl, dir);
    const credentials = { clientId: "kz-clu-0502", username: config.mqtt.username, password: config.mqtt.password, clean: false };
    const topic = topicFor("callDown", "kz-clu-0502");
    const subscribers = async (persistence: unknown): Promise<string[]> =>
      ((await (persistence as { subscriptionsByTopic(t: string): Promise<{ clientId: string }[]> }).subscriptionsByTopic(topic)) ?? []).map((s) => s.clientId);

    const onA = await connectRaw(a.mqttUrl, credentials);
    await onA.subscribeAsync(topic, { qos: 1 });
    await onA.endAsync();
    expect(await subscribers(a.broker.persistence)).toEqual(["kz-clu-0502"]);
    // The kiosk comes back on node B (subscribing again, as the agent does at each connection).
    const onB = await connectRaw(b.mqttUrl, credentials);
    defer(() => onB.endAsync(true));
    await onB.subscribeAsync(topic, { qos: 1 });
    await waitFor(async () => (await subscribers(a.broker.persistence)).length === 0, "node A forgetting the session", 10_000);
    expect(await subscribers(b.broker.persistence)).toEqual(["kz-clu-0502"]);
  });
});

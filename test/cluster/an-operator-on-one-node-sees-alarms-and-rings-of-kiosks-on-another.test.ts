/**
 * Two gateway nodes routing MQTT through Redis (`cluster.redisUrl`, `cluster.nodeId`): an operator
 * page connected to node B sees the alarm a kiosk raised on node A at once (the OperatorAlarm on
 * MQTT) and the kiosk's ring; a message is delivered once, not once per node. Real gateways
 * in-process, a real redis-server, the kiosk as a raw mqtt.js client with its real credentials, the
 * page on B's real WebSocket. Until the store is shared (PostgreSQL), the kiosk and the operator are
 * registered on both nodes' own stores.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import { topicFor } from "../../shared/contract.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { deferCleanups } from "../integration/cleanups.js";
import { connectRaw, freePort, provisionTestKiosk, startTestGateway, tempDir, waitFor } from "../integration/harness.js";
import { addTestOperator, connectOperator } from "../integration/operator-harness.js";

const KIOSK = "kz-clu-0101";

describe("an operator on one node and a kiosk on another", () => {
  const defer = deferCleanups();

  it("the page on node B gets the alarm and the ring of a kiosk on node A, each once", async () => {
    const redis = await new TestRedis(await freePort()).start();
    defer(() => redis.stop());
    const dir = tempDir();
    defer(() => dir.remove());
    const a = await startTestGateway(`${dir.path}/gw-a`, { cluster: { redisUrl: redis.url, nodeId: "gw-a" } });
    defer(() => a.stop());
    const b = await startTestGateway(`${dir.path}/gw-b`, { cluster: { redisUrl: redis.url, nodeId: "gw-b" } });
    defer(() => b.stop());
    await waitFor(() => a.logs.find("cluster routing up").length > 0 && b.logs.find("cluster routing up").length > 0, "both nodes on Redis");

    const config = await provisionTestKiosk(a.dataDir, KIOSK, a.mqttUrl, dir.path);
    const record = await a.store.getKiosk(KIOSK);
    if (record === undefined) throw new Error("kiosk not provisioned");
    await b.store.putKiosk(record, { replace: false, now: new Date() });
    await addTestOperator(b.dataDir, "op-b");

    const page = await connectOperator(b.httpPort, "op-b");
    defer(() => page.endAsync(true));
    const got: { topic: string; body: Record<string, unknown> }[] = [];
    page.on("message", (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await page.subscribeAsync([OPERATOR_ALARMS_TOPIC, "sos/v1/kiosks/+/call/up"], { qos: 1 });
    // The page's subscriptions reach Redis without its SUBACK waiting for them.
    await new Promise((r) => setTimeout(r, 300));

    const kiosk = await connectRaw(a.mqttUrl, { clientId: KIOSK, username: config.mqtt.username, password: config.mqtt.password });
    defer(() => kiosk.endAsync(true));
    const alertId = randomUUID();
    const alert = { v: 1, alertId, kioskId: KIOSK, kind: "sos", pressedAt: new Date().toISOString(), location: config.location };
    await kiosk.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(alert), { qos: 1 });
    await waitFor(() => got.some((m) => m.topic === OPERATOR_ALARMS_TOPIC), "the alarm at the page on node B", 10_000);
    const ring = { v: 1, type: "ring", callId: "call-clu-0001", alertId, at: new Date().toISOString() };
    await kiosk.publishAsync(topicFor("callUp", KIOSK), JSON.stringify(ring), { qos: 1 });
    await waitFor(() => got.some((m) => m.body.type === "ring"), "the ring at the page on node B", 10_000);
    await new Promise((r) => setTimeout(r, 500));

    expect(got.filter((m) => m.topic === OPERATOR_ALARMS_TOPIC).map((m) => m.body.alertId)).toEqual([alertId]);
    expect(got.filter((m) => m.body.type === "ring")).toEqual([{ topic: topicFor("callUp", KIOSK), body: ring }]);
    const readyz = (await (await fetch(`http://127.0.0.1:${b.httpPort}/readyz`)).json()) as { data: { cluster: string } };
    expect(readyz.data.cluster).toBe("routing up");
    const metrics = (await b.metrics.render()).body;
    expect(metrics).toContain("sos_cluster_routing_up 1");
    expect(metrics).toMatch(/sos_cluster_messages_total\{result="received"\} [1-9]/);
    // The alert was stored where the kiosk is: node A.
    expect(await a.store.getAlert(alertId)).toBeDefined();
    expect(await b.store.getAlert(alertId)).toBeUndefined();
  });
});

/**
 * The console's event stream on every node: an operator page on node B is told of each step of an
 * alarm raised by a kiosk connected to node A (`alarm` events relayed through the cluster routing on an
 * internal topic), once; no client can publish or subscribe on that internal topic. Two real gateways
 * on one PostgreSQL database, a real redis-server, the kiosk as a raw mqtt.js client.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { topicFor } from "../../shared/contract.js";
import { connectRaw, provisionTestKiosk, waitFor } from "../integration/harness.js";
import { addTestOperator, connectOperator, login, OPERATOR_PASSWORD, openEventStream } from "../integration/operator-harness.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSK = "kz-clu-0301";

describe("console pages on every node", () => {
  const { defer, rig } = clusterRigs();

  it("a page on node B is told of the alarm a kiosk on node A raised, and of its acknowledgement there", async () => {
    const { db, dir, node, routed } = await rig();
    const a = await node("gw-a");
    const b = await node("gw-b");
    await routed(a, b);

    const config = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, KIOSK, a.mqttUrl, dir);
    await addTestOperator({ dataDir: a.dataDir, storeUrl: db.url }, "op-b");
    const session = await login(b.httpPort, "op-b", OPERATOR_PASSWORD);
    const streamOnB = openEventStream(b.httpPort, session.cookie ?? "", defer);
    const onB = () => streamOnB.events<{ alertId: string; status?: string }>("alarm");
    await new Promise((r) => setTimeout(r, 300));

    const kiosk = await connectRaw(a.mqttUrl, { clientId: KIOSK, username: config.mqtt.username, password: config.mqtt.password });
    defer(() => kiosk.endAsync(true));
    const alertId = randomUUID();
    await kiosk.publishAsync(topicFor("alerts", KIOSK), JSON.stringify({ v: 1, alertId, kioskId: KIOSK, kind: "sos", pressedAt: new Date().toISOString(), location: config.location }), { qos: 1 });
    await waitFor(() => onB().some((e) => e.alertId === alertId), "the alarm on node B's page", 10_000);
    // Acknowledged by an operator on node A: node B's page follows.
    await addTestOperator({ dataDir: a.dataDir, storeUrl: db.url }, "op-a");
    const ack = await fetch(`http://127.0.0.1:${a.httpPort}/api/alarms/${alertId}/acknowledge`, {
      method: "POST",
      headers: { cookie: (await login(a.httpPort, "op-a", OPERATOR_PASSWORD)).cookie ?? "", "content-type": "application/json" },
      body: "{}",
    });
    expect(ack.status).toBe(200);
    await waitFor(() => onB().some((e) => e.alertId === alertId && e.status === "acknowledged"), "the acknowledgement on node B's page", 10_000);
    await new Promise((r) => setTimeout(r, 300));
    // Each step once (not once from each node).
    const statuses = onB().filter((e) => e.alertId === alertId).map((e) => e.status);
    expect(new Set(statuses).size).toBe(statuses.length);

    // The internal topic is no client's: an operator page may neither subscribe to it nor publish on it.
    const page = await connectOperator(b.httpPort, "op-b");
    let closed = false;
    page.on("close", () => (closed = true));
    await page.subscribeAsync("$SOS/console", { qos: 0 }).catch(() => undefined);
    await waitFor(() => closed, "the page disconnected for a subscription outside its ACL", 5_000);
  });
});

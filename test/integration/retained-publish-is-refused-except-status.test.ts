/**
 * `retain` is refused everywhere but where the contract retains: a kiosk's own status (and its last
 * will, which is its offline status). A ring published with `retain` on call/up would otherwise be
 * handed to every operator page that subscribes later, long after the call (and the kiosk) are gone.
 */
import { describe, expect, it } from "vitest";
import { ALL_CALL_UP_FILTER } from "../../gateway/broker/acl.js";
import { topicFor } from "../../shared/contract.js";
import { heartbeatPayload } from "../fixtures/heartbeat.js";
import { connectRogue, counter, ROGUE, rogueTopic, startLimitsEnv, victimStillDelivers, VICTIM, watch } from "./broker-limits-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";
import { addTestOperator, connectOperator } from "./operator-harness.js";

const ONLINE = JSON.stringify({ v: 1, state: "online", reason: "connected", at: new Date().toISOString() });
const OFFLINE_WILL = JSON.stringify({ v: 1, state: "offline", reason: "connection-lost" });

describe("retain is refused except on a kiosk's status", () => {
  const defer = deferCleanups();

  it("a kiosk's retained status is kept; a retained ring on call/up or a retained heartbeat ends the connection and is not kept", async () => {
    const env = await startLimitsEnv(defer);
    const { gateway } = env;
    const rogue = await connectRogue(env, defer);
    await rogue.client.publishAsync(rogueTopic("status"), ONLINE, { qos: 1, retain: true });
    expect(await gateway.broker.retainedTopics(ROGUE)).toEqual([rogueTopic("status")]);
    expect(rogue.closed()).toBe(false);

    const ring = JSON.stringify({ v: 1, type: "ring", callId: "call-0001-abcd", alertId: "a1", at: new Date().toISOString() });
    const cases = [
      { name: "callUp" as const, payload: ring, qos: 1 as const },
      { name: "heartbeat" as const, payload: heartbeatPayload(), qos: 0 as const },
    ];
    for (const { name, payload, qos } of cases) {
      const client = await connectRogue(env, defer);
      client.client.publish(rogueTopic(name), payload, { qos, retain: true }, () => undefined);
      await waitFor(() => client.closed(), `the kiosk retaining ${name} disconnected`);
      expect(client.received, "no PUBACK").toEqual([]);
      expect(gateway.logs.find("publish refused: client disconnected", (l) => l.topic === rogueTopic(name))).toEqual([
        expect.objectContaining({ clientId: ROGUE, label: "retain", reason: `retain is refused on ${name}: only a kiosk's status is retained` }),
      ]);
    }
    expect(await gateway.broker.retainedTopics(ROGUE)).toEqual([rogueTopic("status")]);
    expect(await counter(env, "sos_mqtt_refused_publishes_total", { role: "kiosk", reason: "retain" })).toBe(2);

    // An operator page that subscribes now is handed no ring.
    await addTestOperator(gateway.dataDir, "alice");
    const page = watch(await connectOperator(gateway.httpPort, "alice"), defer);
    const retained: string[] = [];
    page.client.on("message", (topic, _payload, packet) => {
      if (packet.retain) retained.push(topic);
    });
    await page.client.subscribeAsync(ALL_CALL_UP_FILTER, { qos: 1 });
    await victimStillDelivers(env);
    await page.client.unsubscribeAsync(ALL_CALL_UP_FILTER); // a round trip: anything retained was sent before its answer
    expect(retained).toEqual([]);

    // An operator's retained call/down is refused too.
    const hangup = JSON.stringify({ v: 1, type: "hangup", callId: "call-0001-abcd", reason: "x" });
    page.client.publish(topicFor("callDown", VICTIM), hangup, { qos: 1, retain: true }, () => undefined);
    await waitFor(() => page.closed(), "the page retaining call/down disconnected");
    expect(await counter(env, "sos_mqtt_refused_publishes_total", { role: "operator", reason: "retain" })).toBe(1);
    expect(await gateway.broker.retainedTopics(VICTIM)).toEqual([topicFor("status", VICTIM)]);
  });

  it("a last will retained on the kiosk's status is kept; one retained on call/up is refused when the connection drops", async () => {
    const env = await startLimitsEnv(defer);
    const { gateway } = env;
    const statusWill = await connectRogue(env, defer, { will: { topic: rogueTopic("status"), payload: Buffer.from(OFFLINE_WILL), qos: 1, retain: true } });
    statusWill.client.stream.destroy();
    await waitFor(async () => (await gateway.broker.retainedTopics(ROGUE)).includes(rogueTopic("status")), "the offline will retained");

    const ring = JSON.stringify({ v: 1, type: "ring", callId: "call-0002-abcd", alertId: "a2", at: new Date().toISOString() });
    const callWill = await connectRogue(env, defer, { will: { topic: rogueTopic("callUp"), payload: Buffer.from(ring), qos: 1, retain: true } });
    callWill.client.stream.destroy();
    await waitFor(() => gateway.logs.find("publish refused: client disconnected", (l) => l.topic === rogueTopic("callUp"))[0], "the retained will refused");
    expect(gateway.logs.find("publish refused: client disconnected", (l) => l.topic === rogueTopic("callUp"))).toEqual([expect.objectContaining({ clientId: ROGUE, label: "retain" })]);
    expect(await gateway.broker.retainedTopics(ROGUE)).toEqual([rogueTopic("status")]);
  });
});

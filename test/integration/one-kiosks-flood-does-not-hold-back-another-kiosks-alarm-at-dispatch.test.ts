/**
 * A kiosk that sends alert after alert (a stolen one, or a broken one) gets each stored, acknowledged
 * and dispatched: nothing is refused, nothing lost. But while dispatch works through that backlog,
 * another kiosk's alarm goes out at the next free slot, not behind the whole flood: the dispatch
 * queue takes each kiosk's oldest waiting alarm first (store claimDispatches).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Ack, type Alert, ackSchema, topicFor } from "../../shared/contract.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, waitFor } from "./harness.js";

const FLOOD = "kz-hwy-0701";
const CALM = "kz-hwy-0702";
const ALERTS = 120;
const CONCURRENCY = 4;

function alertFor(kioskId: string): Alert {
  return { v: 1, alertId: randomUUID(), kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "somewhere" } };
}

describe("one kiosk's flood of alerts does not hold back another kiosk's alarm at dispatch", () => {
  const defer = deferCleanups();

  it("the other kiosk's alarm is sent at the next free slot, and every flooded alert still reaches dispatch once", async () => {
    const { dir, receiver, gateway } = await startSystem(defer, { dispatch: { concurrency: CONCURRENCY } });
    receiver.delayMs = 100; // a dispatch system answering in 100 ms: the flood outruns it
    const kiosks = await Promise.all(
      [FLOOD, CALM].map(async (kioskId) => {
        const config = await provisionTestKiosk(gateway, kioskId, gateway.mqttUrl, dir);
        const client = await connectRaw(gateway.mqttUrl, { clientId: kioskId, username: kioskId, password: config.mqtt.password });
        defer(() => client.endAsync(true));
        const acks: Ack[] = [];
        client.on("message", (_topic, payload) => acks.push(ackSchema.parse(JSON.parse(payload.toString("utf8")))));
        await client.subscribeAsync(topicFor("acks", kioskId), { qos: 1 });
        const publish = (alert: Alert) => client.publishAsync(topicFor("alerts", kioskId), JSON.stringify(alert), { qos: 1 });
        return { acks, publish };
      }),
    );
    const [flood, calm] = kiosks as [(typeof kiosks)[0], (typeof kiosks)[0]];
    const flooded = Array.from({ length: ALERTS }, () => alertFor(FLOOD));
    await Promise.all(flooded.map((a) => flood.publish(a)));
    await waitFor(() => flood.acks.length === ALERTS, "the flood acknowledged");
    const sentBefore = receiver.requests.length;
    expect(sentBefore).toBeLessThan(ALERTS / 2); // the backlog is real

    const alarm = alertFor(CALM);
    await calm.publish(alarm);
    await waitFor(() => calm.acks.find((a) => a.alertId === alarm.alertId && a.status === "ok"), "the other kiosk's alarm acknowledged");
    await waitFor(() => receiver.deliveredIds().has(alarm.alertId), "the other kiosk's alarm at dispatch");
    const position = receiver.requests.findIndex((r) => r.body.alertId === alarm.alertId);
    // Behind at most the sends in flight when it was stored, and one round more for timing: not the
    // flood's remaining ~100 (queued oldest first over all kiosks, it would have been last).
    expect(position - sentBefore).toBeLessThanOrEqual(2 * CONCURRENCY);

    await waitFor(() => flooded.every((a) => receiver.deliveredIds().has(a.alertId)), "every flooded alert at dispatch", 30_000);
    const counts = new Map<string, number>();
    for (const r of receiver.requests) counts.set(r.body.alertId, (counts.get(r.body.alertId) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(ALERTS + 1);
  });
});

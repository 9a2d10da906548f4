/**
 * Each topic's payload is bounded by what it carries (shared/contract.ts `maxBytes`): an alert is a
 * few hundred bytes, so a 17 KiB one is refused (the client disconnected) although the packet is far
 * under the broker's 512 KiB packet limit, while a 200 KiB snapshot, which its topic carries, passes.
 */
import { describe, expect, it } from "vitest";
import { topics } from "../../shared/contract.js";
import { heartbeatPayload } from "../fixtures/heartbeat.js";
import { connectRogue, counter, paddedAlert, ROGUE, rogueTopic, startLimitsEnv, victimStillDelivers } from "./broker-limits-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";

describe("a payload over its topic's cap is refused", () => {
  const defer = deferCleanups();

  it.each([
    { name: "alerts" as const, qos: 1 as const, payload: (): Buffer => paddedAlert(ROGUE, topics.alerts.maxBytes + 1) },
    { name: "heartbeat" as const, qos: 0 as const, payload: (): Buffer => Buffer.from(heartbeatPayload().toString("utf8").padEnd(topics.heartbeat.maxBytes + 1, " ")) },
    { name: "status" as const, qos: 1 as const, payload: (): Buffer => Buffer.from('{"v":1,"state":"online"}'.padEnd(topics.status.maxBytes + 1, " ")) },
  ])("a kiosk's $name payload one byte over its cap ends the connection, and nothing of it is handled", async ({ name, qos, payload }) => {
    const env = await startLimitsEnv(defer);
    const rogue = await connectRogue(env, defer);
    const body = payload();
    rogue.client.publish(rogueTopic(name), body, { qos }, () => undefined);

    await waitFor(() => rogue.closed(), "the rogue kiosk's connection closed by the broker");
    expect(rogue.received, "no PUBACK").toEqual([]);
    expect(env.gateway.logs.find("publish refused: client disconnected", (l) => l.clientId === ROGUE)).toEqual([
      expect.objectContaining({
        level: "warn",
        topic: rogueTopic(name),
        label: "payload-too-large",
        reason: `a ${body.length}-byte payload is over the ${topics[name].maxBytes}-byte cap of ${name}`,
      }),
    ]);
    expect(await counter(env, "sos_mqtt_refused_publishes_total", { role: "kiosk", reason: "payload-too-large" })).toBe(1);
    expect(await env.gateway.store.listRejected(10)).toEqual([]);
    await victimStillDelivers(env);
  });

  it("a payload at its topic's cap passes: an alert of exactly 16 KiB is stored, a 200 KiB snapshot is taken", async () => {
    const env = await startLimitsEnv(defer);
    const rogue = await connectRogue(env, defer);
    await rogue.client.publishAsync(rogueTopic("alerts"), paddedAlert(ROGUE, topics.alerts.maxBytes), { qos: 1 });
    await waitFor(async () => (await env.gateway.store.listAlerts()).some((a) => a.kioskId === ROGUE), "the alert at the cap stored");
    const snapshot = { v: 1, alertId: "a1", takenAt: new Date().toISOString(), contentType: "image/jpeg", data: Buffer.alloc(150_000, 7).toString("base64") };
    await rogue.client.publishAsync(rogueTopic("snapshot"), JSON.stringify(snapshot), { qos: 1 });
    expect(rogue.closed()).toBe(false);
    expect(env.gateway.logs.find("publish refused: client disconnected")).toEqual([]);
  });
});

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "./cleanups.js";
import { type Ack, type Alert, ackSchema, topicFor } from "../../shared/contract.js";

import { connectRaw, provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

const SENDER = "kz-hwy-0300";
const OTHER = "kz-hwy-0400";

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

describe("malformed alerts are rejected and the broker keeps serving", () => {
  const defer = deferCleanups();

  it("rejects non-JSON, oversized, invalid and mismatched alerts with a reason, keeps the connection, and still delivers valid ones", async () => {
    // The alert pipeline's own limit, below the broker's cap for the alerts topic (16 KiB, which disconnects).
    const { dir, receiver, gateway } = await startSystem(defer, { alerts: { maxPayloadBytes: 4_096 } });
    const senderConfig = await provisionTestKiosk(gateway.dataDir, SENDER, gateway.mqttUrl, dir);
    const otherConfig = await provisionTestKiosk(gateway.dataDir, OTHER, gateway.mqttUrl, dir);

    // The sender is a real mqtt.js client with its provisioned credentials, misbehaving on purpose.
    const client = await connectRaw(gateway.mqttUrl, { clientId: SENDER, username: SENDER, password: senderConfig.mqtt.password });
    defer(() => client.endAsync(true));
    let closes = 0;
    client.on("close", () => (closes += 1));
    const acks: Ack[] = [];
    client.on("message", (topic, payload) => {
      if (topic === topicFor("acks", SENDER)) acks.push(ackSchema.parse(JSON.parse(payload.toString("utf8"))));
    });
    await client.subscribeAsync(topicFor("acks", SENDER), { qos: 1 });
    const alertsTopic = topicFor("alerts", SENDER);

    const invalidId = randomUUID();
    const mismatched = alertFor(OTHER);
    const oversized = { ...alertFor(SENDER), padding: "x".repeat(4_096) };
    const cases: { code: string; payload: Buffer | string; reason: RegExp; ackFor: string | null }[] = [
      { code: "PAYLOAD_NOT_JSON", payload: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x7b, 0x00]), reason: /not JSON/, ackFor: null },
      { code: "PAYLOAD_TOO_LARGE", payload: JSON.stringify(oversized), reason: /over the 4096-byte limit/, ackFor: null },
      {
        code: "PAYLOAD_INVALID",
        payload: JSON.stringify({ ...alertFor(SENDER), alertId: invalidId, kind: "panic", location: { lat: 123, lon: 76.95, address: "x" } }),
        reason: /alert schema: .*kind.*location\.lat/,
        ackFor: invalidId,
      },
      { code: "KIOSK_MISMATCH", payload: JSON.stringify(mismatched), reason: new RegExp(`names kiosk ${OTHER} but the connection is authenticated as ${SENDER}`), ackFor: mismatched.alertId },
    ];

    for (const [i, c] of cases.entries()) {
      await client.publishAsync(alertsTopic, c.payload, { qos: 1 });
      const logged = await waitFor(() => gateway.logs.find("alert rejected", (l) => l.code === c.code)[0], `'alert rejected' logged for ${c.code}`);
      expect(logged).toMatchObject({ level: "warn", kioskId: SENDER, topic: alertsTopic, alertId: c.ackFor });
      expect(logged.reason).toMatch(c.reason);
      const rejected = await gateway.store.listRejected(10);
      expect(rejected).toHaveLength(i + 1);
      expect(rejected[0]).toMatchObject({ kioskId: SENDER, topic: alertsTopic, code: c.code, reason: logged.reason });
      if (c.ackFor !== null) {
        const nak = await waitFor(() => acks.find((a) => a.alertId === c.ackFor), `error ack for ${c.code}`);
        expect(nak).toMatchObject({ v: 1, status: "error", error: { code: c.code, message: logged.reason } });
      }
    }
    // Only the two with a readable alertId were answered, and only with errors.
    expect(acks.map((a) => a.status)).toEqual(["error", "error"]);
    // The excerpt kept for forensics is bounded.
    const tooLarge = (await gateway.store.listRejected(10)).find((r) => r.code === "PAYLOAD_TOO_LARGE");
    expect(tooLarge?.excerpt.length).toBeLessThanOrEqual(512);

    // Nothing was stored or queued, for the sender or for the kiosk named in the mismatched payload.
    expect(await gateway.store.listAlerts()).toEqual([]);
    expect(await gateway.store.getAlert(mismatched.alertId)).toBeUndefined();
    expect(await gateway.store.getAlert(invalidId)).toBeUndefined();
    expect(await gateway.store.countByDelivery()).toEqual({ pending: 0, delivered: 0 });

    // The connection stayed up throughout.
    expect(closes).toBe(0);
    expect(client.connected).toBe(true);
    expect(gateway.logs.find("kiosk disconnected")).toEqual([]);

    // The same connection still gets a valid alert through to dispatch.
    const valid = alertFor(SENDER);
    await client.publishAsync(alertsTopic, JSON.stringify(valid), { qos: 1 });
    const ok = await waitFor(() => acks.find((a) => a.alertId === valid.alertId), "ok ack for the valid alert");
    expect(ok).toMatchObject({ status: "ok", data: { duplicate: false } });
    await waitFor(() => receiver.deliveredIds().has(valid.alertId), "valid alert of the sender at dispatch");

    // And so does another kiosk, with the real agent.
    const other = await startTestKiosk(otherConfig);
    defer(() => other.stop());
    await waitFor(() => other.logs.find("connected to gateway").length > 0, "other kiosk connected");
    other.button.press();
    const fromOther = await waitFor(() => receiver.requests.find((r) => r.body.kioskId === OTHER), "other kiosk's alert at dispatch");
    await waitFor(() => other.outbox.depth === 0, "other kiosk's alert acknowledged");

    // Exactly the two valid alerts were stored and forwarded; the mismatched alertId never was.
    expect(new Set((await gateway.store.listAlerts()).map((a) => a.alertId))).toEqual(new Set([valid.alertId, fromOther.body.alertId]));
    expect(receiver.requests.map((r) => r.body.alertId).sort()).toEqual([valid.alertId, fromOther.body.alertId].sort());
    expect(await gateway.store.listRejected(10)).toHaveLength(cases.length);
    expect(closes).toBe(0);
  });
});

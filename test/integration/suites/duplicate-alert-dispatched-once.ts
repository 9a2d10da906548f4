import { randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "../cleanups.js";
import type { KioskConfig } from "../../../shared/config/kiosk.js";
import { type Ack, type Alert, ackSchema, topicFor } from "../../../shared/contract.js";
import type { DispatchReceiver } from "../../fixtures/dispatch-receiver.js";
import { connectRaw, onStore, provisionTestKiosk, waitFor, type TestGateway, type TestStore } from "../harness.js";

const FIRST = "kz-hwy-0500";
const SECOND = "kz-hwy-0600";

function alertFor(kioskId: string, alertId: string = randomUUID()): Alert {
  return {
    v: 1,
    alertId,
    kioskId,
    kind: "sos",
    pressedAt: new Date().toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "somewhere" },
  };
}

interface RawKiosk {
  readonly client: MqttClient;
  readonly acks: Ack[];
  publish(alert: Alert): Promise<void>;
}

/** Deduplication by alertId, on the store given. */
export function duplicateAlertDispatchedOnce(store: TestStore): void {
  describe(`a duplicate alert is dispatched once (${store.name})`, () => {
    const defer = deferCleanups();

    async function setup(): Promise<{ gateway: TestGateway; receiver: DispatchReceiver; first: KioskConfig; second: KioskConfig }> {
      const { dir, receiver, gateway } = await startSystem(defer, onStore(store));
      const first = await provisionTestKiosk(gateway, FIRST, gateway.mqttUrl, dir);
      const second = await provisionTestKiosk(gateway, SECOND, gateway.mqttUrl, dir);
      return { gateway, receiver, first, second };
    }

    /** A raw mqtt.js client with the kiosk's credentials, subscribed to its acks. */
    async function rawKiosk(gateway: TestGateway, config: KioskConfig): Promise<RawKiosk> {
      const client = await connectRaw(gateway.mqttUrl, { clientId: config.kioskId, username: config.kioskId, password: config.mqtt.password });
      defer(() => client.endAsync(true));
      const acks: Ack[] = [];
      const ackTopic = topicFor("acks", config.kioskId);
      client.on("message", (topic, payload) => {
        if (topic === ackTopic) acks.push(ackSchema.parse(JSON.parse(payload.toString("utf8"))));
      });
      await client.subscribeAsync(ackTopic, { qos: 1 });
      const alertsTopic = topicFor("alerts", config.kioskId);
      return { client, acks, publish: (alert) => client.publishAsync(alertsTopic, JSON.stringify(alert), { qos: 1 }).then(() => undefined) };
    }

    it("stores and forwards an alert published three times once, and acknowledges every copy", async () => {
      const { gateway, receiver, first } = await setup();
      const kiosk = await rawKiosk(gateway, first);
      const alert = alertFor(FIRST);

      for (let copy = 1; copy <= 3; copy++) {
        await kiosk.publish(alert);
        await waitFor(() => kiosk.acks.length === copy, `ack for copy ${copy}`);
      }

      expect(kiosk.acks).toHaveLength(3);
      expect(kiosk.acks.every((a) => a.alertId === alert.alertId && a.status === "ok")).toBe(true);
      const data = kiosk.acks.map((a) => (a.status === "ok" ? a.data : undefined));
      expect(data.map((d) => d?.duplicate)).toEqual([false, true, true]);
      // A duplicate reports when the original was received, not when the copy was.
      expect(new Set(data.map((d) => d?.receivedAt)).size).toBe(1);

      const stored = await waitFor(async () => {
        const row = await gateway.store.getAlert(alert.alertId);
        return row?.delivery === "delivered" ? row : undefined;
      }, "alert delivered");
      expect(stored).toMatchObject({ kioskId: FIRST, attempts: 1, receivedAt: data[0]?.receivedAt });
      expect(await gateway.store.listAlerts()).toHaveLength(1);
      expect(await gateway.store.attemptsFor(alert.alertId)).toHaveLength(1);
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0]?.body.alertId).toBe(alert.alertId);
      // Nothing left to send: no second dispatch is scheduled for the copies.
      expect(await gateway.store.nextDispatchAt({ owner: "test" })).toBeNull();
      expect(gateway.logs.find("duplicate alert: acknowledged again, not forwarded again", (l) => l.alertId === alert.alertId)).toHaveLength(2);
      expect(await gateway.store.listRejected(10)).toEqual([]);
    });

    it("stores an alert once when its copies arrive back to back", async () => {
      const { gateway, receiver, first } = await setup();
      const kiosk = await rawKiosk(gateway, first);
      const alert = alertFor(FIRST);

      // Not awaited one by one: the copies may share a TCP segment and be handled concurrently.
      await Promise.all([kiosk.publish(alert), kiosk.publish(alert), kiosk.publish(alert)]);
      await waitFor(() => kiosk.acks.length === 3, "three acks");
      const duplicates = kiosk.acks.map((a) => (a.status === "ok" ? a.data.duplicate : "error"));
      expect(duplicates.filter((d) => d === false)).toHaveLength(1);
      expect(duplicates.filter((d) => d === true)).toHaveLength(2);

      await waitFor(() => receiver.deliveredIds().has(alert.alertId), "alert at dispatch");
      await waitFor(async () => (await gateway.store.getAlert(alert.alertId))?.delivery === "delivered", "alert marked delivered");
      expect(await gateway.store.listAlerts()).toHaveLength(1);
      expect(receiver.requests).toHaveLength(1);
    });

    it("refuses an alertId already used by another kiosk, and does not take the alert as that kiosk's", async () => {
      const { gateway, receiver, first, second } = await setup();
      const owner = await rawKiosk(gateway, first);
      const intruder = await rawKiosk(gateway, second);

      const original = alertFor(FIRST);
      await owner.publish(original);
      await waitFor(() => owner.acks.find((a) => a.alertId === original.alertId), "owner's ack");
      await waitFor(() => receiver.deliveredIds().has(original.alertId), "owner's alert at dispatch");

      // The second kiosk reuses the id, in a payload that is otherwise valid and names itself.
      const reused = { ...alertFor(SECOND, original.alertId), kind: "test" as const };
      await intruder.publish(reused);
      const nak = await waitFor(() => intruder.acks.find((a) => a.alertId === original.alertId), "intruder's error ack");
      expect(nak).toMatchObject({ status: "error", error: { code: "ALERT_ID_CONFLICT" } });
      // The intruder is not told whose alertId it is; the log and the record of the rejection say.
      expect(nak.status === "error" ? nak.error.message : "").toBe(`alertId ${original.alertId} already belongs to another kiosk's alert: generate a new alertId`);

      const logged = await waitFor(() => gateway.logs.find("alert rejected", (l) => l.code === "ALERT_ID_CONFLICT")[0], "conflict logged");
      expect(logged).toMatchObject({ kioskId: SECOND, alertId: original.alertId });
      expect(String(logged.reason)).toContain(`already belongs to kiosk ${FIRST}`);
      const rejected = await gateway.store.listRejected(10);
      expect(rejected).toEqual([expect.objectContaining({ kioskId: SECOND, code: "ALERT_ID_CONFLICT", topic: topicFor("alerts", SECOND) })]);
      expect(rejected[0]?.reason).toContain(`already belongs to kiosk ${FIRST}`);

      // The stored alert is still the first kiosk's, unchanged, and was not forwarded again.
      expect(await gateway.store.getAlert(original.alertId)).toMatchObject({ kioskId: FIRST, kind: "sos", pressedAt: original.pressedAt, attempts: 1 });
      expect(await gateway.store.listAlerts()).toHaveLength(1);
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0]?.body).toMatchObject({ kioskId: FIRST, kind: "sos" });
      // The owner got one ok ack and nothing about the conflict.
      expect(owner.acks).toEqual([expect.objectContaining({ alertId: original.alertId, status: "ok" })]);
      expect(intruder.acks).toHaveLength(1);
    });
  });
}

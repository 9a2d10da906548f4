import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Alert, topicFor } from "../../shared/contract.js";
import type { KioskAlarmInfo } from "../../shared/eido.js";
import { verifySignature } from "../../shared/signature.js";
import { closeAlarm } from "../../gateway/alerts/close.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { systemClock } from "../../shared/clock.js";
import { EidoReceiver } from "../fixtures/eido-receiver.js";
import { startCallRig } from "./call-rig.js";
import { deferCleanups } from "./cleanups.js";
import { connectRaw, DISPATCH_SECRET, provisionTestKiosk, startTestGateway, tempDir, waitFor } from "./harness.js";

const KIOSK = "kz-eido-0001";
const NAME = `Kiosk "Abay" <b>&</b> 'park'\u0007`;
const ADDRESS = `Almaty, <Abay> ave. "1" & 2\ttab\u0001`;
const OUTCOME = `patrol sent: "kids" <img src=x> & co`;

describe("with dispatch.format eido, an alarm reaches dispatch as an EIDO and its later steps as updates, in order", () => {
  const defer = deferCleanups();

  it("sends the SOS, then acknowledged, call connected and closed of the same incident, signed, retried with the same bytes", async () => {
    const receiver = await new EidoReceiver().start();
    defer(() => receiver.stop());
    // The first update is refused once: it is retried, and the later ones wait behind it.
    let refusedOnce = false;
    receiver.respond = (_n, headers) => {
      if (refusedOnce || !String(headers["idempotency-key"]).endsWith(":acknowledged")) return 200;
      refusedOnce = true;
      return 503;
    };
    const { gateway, kiosks, operator } = await startCallRig(defer, [KIOSK], { dispatch: { url: receiver.url, secret: DISPATCH_SECRET, format: "eido", agency: "test.police" } });
    const [kiosk] = kiosks;
    const record = await gateway.store.getKiosk(KIOSK);
    if (kiosk === undefined || record === undefined) throw new Error("kiosk not provisioned");
    await gateway.store.putKiosk({ ...record, name: NAME, location: { lat: 43.2389, lon: 76.8897, address: ADDRESS } }, { replace: true, now: new Date() });
    const alertId = await kiosk.raise();

    const first = await waitFor(() => receiver.requests[0], "the alarm's EIDO");
    const incident = `urn:emergency:uid:incidentid:${alertId}:test.police`;
    expect(first.headers["idempotency-key"]).toBe(alertId);
    expect(verifySignature(first.raw, DISPATCH_SECRET, first.headers["x-sos-signature"] as string)).toBe(true);
    expect(first.body.$id).toBe(incident);
    expect(first.body.locationComponent[0]?.locationDescriptionText).toBe(ADDRESS);
    expect((JSON.parse(first.body.alarmsSensorsComponent[0]?.csaaAlarmInformation ?? "{}") as KioskAlarmInfo).kioskName).toBe(NAME);
    expect(first.body.mediaComponent?.[0]?.uri).toMatch(new RegExp(`/api/alerts/${alertId}/snapshot\\.jpg\\?token=`));
    expect(first.body.notesComponent[0]?.notesActionComments).toContain("Kiosk health at the press: online since");

    await waitFor(async () => (await gateway.store.getAlert(alertId))?.delivery === "delivered", "alert delivered");
    expect((await gateway.alarms.acknowledge(alertId, "aigerim")).result).toBe("acknowledged");
    // A real call: the kiosk rings, aigerim's page accepts, the kiosk connects.
    const page = await operator("aigerim");
    await kiosk.callUp({ type: "ring", callId: "call-0001-eido", alertId, at: new Date().toISOString() });
    await waitFor(() => page.received.length > 0, "the ring at the page");
    await page.callDown(KIOSK, { type: "accept", callId: "call-0001-eido", operator: "aigerim", pageId: "page-aigerim-0001" });
    await waitFor(() => kiosk.down.length > 0, "the accept at the kiosk");
    await kiosk.callUp({ type: "state", callId: "call-0001-eido", state: "connecting", pageId: "page-aigerim-0001" });
    await kiosk.callUp({ type: "state", callId: "call-0001-eido", state: "connected" });
    await waitFor(async () => (await gateway.store.alarms.steps(alertId)).some((s) => s.type === "call-connected") || undefined, "the call step");
    expect(await gateway.closeAlarm({ alertId, outcome: OUTCOME, closedBy: "aigerim" })).toBe("closed");

    await waitFor(() => receiver.requests.some((r) => r.status === 200 && r.headers["idempotency-key"] === `${alertId}:closed`) || undefined, "three updates delivered");
    expect(receiver.invalid).toEqual([]);
    // A loaded machine may time out (and retry, same key and bytes) the alarm's own POST: counted once.
    const sos = receiver.requests.filter((r) => r.headers["idempotency-key"] === alertId);
    expect(new Set(sos.map((r) => r.raw)).size).toBe(1);
    const updates = receiver.requests.filter((r) => r.headers["idempotency-key"] !== alertId);
    const keys = updates.map((r) => r.headers["idempotency-key"]);
    expect(receiver.requests[0]?.headers["idempotency-key"]).toBe(alertId);
    expect(keys).toEqual([`${alertId}:acknowledged`, `${alertId}:acknowledged`, `${alertId}:call-connected:call-0001-eido`, `${alertId}:closed`]);
    const [refused, ack, call, closed] = updates;
    expect(refused?.raw).toBe(ack?.raw);
    expect([refused, ack].map((r) => r?.headers["x-sos-attempt"])).toEqual(["1", "2"]);
    for (const r of receiver.requests) expect(verifySignature(r.raw, DISPATCH_SECRET, r.headers["x-sos-signature"] as string)).toBe(true);
    expect([ack, call, closed].map((r) => r?.body.$id)).toEqual([incident, incident, incident]);
    expect([ack, call, closed].map((r) => r?.body.incidentComponent.incidentStatusInternalText[0])).toEqual(["ACKNOWLEDGED", "CALL CONNECTED", "CLOSED"]);
    expect(call?.body.callComponent?.[0]).toMatchObject({ callStateRegistryText: "callAnswered", agentReference: [{ $ref: "aigerim@test.police" }] });
    expect(closed?.body.incidentComponent.dispositionComponent?.[0]?.dispositionDescriptionText).toBe(OUTCOME);
    expect(closed?.body.notesComponent.at(-1)?.notesActionComments).not.toContain("<img");
    // The receiver has answered the last update; the gateway records its delivery just after.
    const stored = await waitFor(async () => {
      const rows = await gateway.store.dispatchUpdates.updatesOf(alertId);
      return rows.every((u) => u.deliveredAt !== null) ? rows : undefined;
    }, "every update recorded as delivered");
    expect(stored.map((u) => [u.step, u.deliveredAt !== null])).toEqual([
      ["acknowledged", true],
      ["call-connected", true],
      ["closed", true],
    ]);
  });

  it("sends a test alarm as a closed test incident, and no updates for it", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const receiver = await new EidoReceiver().start();
    defer(() => receiver.stop());
    const gateway = await startTestGateway(`${dir.path}/gw`, { dispatch: { url: receiver.url, secret: DISPATCH_SECRET, format: "eido" } });
    defer(() => gateway.stop());
    const config = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path);
    const client = await connectRaw(gateway.mqttUrl, { clientId: KIOSK, username: KIOSK, password: config.mqtt.password });
    defer(() => client.endAsync(true));
    const test: Alert = { v: 1, alertId: randomUUID(), kioskId: KIOSK, kind: "test", trigger: "scheduled-test", pressedAt: new Date().toISOString(), location: { lat: 1, lon: 2, address: "x" } };
    await client.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(test), { qos: 1 });
    const request = await waitFor(() => receiver.requests[0], "the test alarm's EIDO");
    expect(receiver.invalid).toEqual([]);
    expect(request.body.incidentComponent).toMatchObject({ incidentStatusInternalText: ["TEST", "CLOSED"], incidentCommonPriorityNumber: 5 });
    await waitFor(async () => (await gateway.store.alarms.steps(test.alertId)).some((s) => s.type === "delivered") || undefined, "delivered step");
    expect(await gateway.store.dispatchUpdates.updatesOf(test.alertId)).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
  });

  it("sends the close of an alarm closed by another process (the CLI) while the gateway was down, once it starts", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const receiver = await new EidoReceiver().start();
    defer(() => receiver.stop());
    const dataDir = `${dir.path}/gw`;
    const overrides = { dispatch: { url: receiver.url, secret: DISPATCH_SECRET, format: "eido" as const } };
    const gateway = await startTestGateway(dataDir, overrides);
    defer(() => gateway.stop());
    const config = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path);
    const client = await connectRaw(gateway.mqttUrl, { clientId: KIOSK, username: KIOSK, password: config.mqtt.password });
    defer(() => client.endAsync(true));
    const sos: Alert = { v: 1, alertId: randomUUID(), kioskId: KIOSK, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 1, lon: 2, address: "x" } };
    await client.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(sos), { qos: 1 });
    await waitFor(async () => (await gateway.store.getAlert(sos.alertId))?.delivery === "delivered", "alert delivered");
    await client.endAsync(true);
    await gateway.stop();

    // `sos alerts close` writes to the store from its own process.
    const store = SqliteStore.open(dataDir, { mustExist: true });
    expect((await closeAlarm(store, { alertId: sos.alertId, outcome: "closed from the CLI", closedBy: "cli" }, systemClock)).result).toBe("closed");
    await store.close();

    const again = await startTestGateway(dataDir, overrides);
    defer(() => again.stop());
    const closed = await waitFor(() => receiver.requests.find((r) => r.headers["idempotency-key"] === `${sos.alertId}:closed`), "the close's update");
    expect(receiver.invalid).toEqual([]);
    expect(closed.body.$id).toBe(`urn:emergency:uid:incidentid:${sos.alertId}:sos.gateway`);
    expect(closed.body.incidentComponent.dispositionComponent?.[0]?.dispositionDescriptionText).toBe("closed from the CLI");
    expect(closed.body.agentComponent).toBeUndefined();
    expect(receiver.requests.map((r) => r.headers["idempotency-key"])).toEqual([sos.alertId, `${sos.alertId}:closed`]);
  });
});

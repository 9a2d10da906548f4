import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Alert, type Ack, ackSchema, topicFor } from "../../shared/contract.js";
import { signBody } from "../../shared/signature.js";
import { decodeSmsAck, encodeSmsAlert, parseSmsKey, type SmsAlert } from "../../shared/sms-alert.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, waitFor, type TestGateway } from "./harness.js";

const KIOSK = "kz-hwy-0700";
const HOOK_SECRET = "test-sms-hook-secret-0123456789";

describe("SMS alerts through the SMS service's hook", () => {
  const defer = deferCleanups();

  async function post(gateway: TestGateway, body: unknown, secret = HOOK_SECRET): Promise<{ status: number; json: { status: string; data?: { outcome: string; code?: string; replies: { to: string; text: string }[] } } }> {
    const raw = JSON.stringify(body);
    const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/sms/inbound`, { method: "POST", headers: { "content-type": "application/json", "x-sos-signature": signBody(raw, secret) }, body: raw });
    return { status: res.status, json: (await res.json()) as never };
  }

  async function setup() {
    const system = await startSystem(defer, { sms: { hook: { secret: HOOK_SECRET } } });
    const config = await provisionTestKiosk(system.gateway.dataDir, KIOSK, system.gateway.mqttUrl, system.dir);
    const key = parseSmsKey(config.fallback.smsKey ?? "");
    return { ...system, config, key };
  }

  const smsAlert = (counter: number, alertId = randomUUID()): SmsAlert => ({ kind: "sos", kioskId: KIOSK, alertId, pressedAt: "2026-12-05T17:00:59.000Z", counter });

  it("provisioning issues the kiosk's SMS key; a signed SMS alert is stored with the kiosk's place, dispatched once, marked SMS, and acknowledged by SMS", async () => {
    const { gateway, receiver, config, key } = await setup();
    expect((await gateway.store.sms.getKey(KIOSK))?.key).toBe(config.fallback.smsKey);
    const alert = smsAlert(1);
    const stored: { channel?: string }[] = [];
    gateway.events.on("alert.stored", "test", (e) => stored.push(e));
    const { status, json } = await post(gateway, { from: "+77010000777", text: encodeSmsAlert(alert, key) });
    expect(status).toBe(200);
    expect(json.data?.outcome).toBe("accepted");
    const reply = json.data?.replies[0];
    expect(reply?.to).toBe("+77010000777");
    expect(decodeSmsAck(reply?.text ?? "", key)).toEqual({ ok: true, value: { alertId: alert.alertId } });
    await waitFor(() => receiver.requests.length === 1, "dispatch");
    expect(receiver.requests[0]?.body.alertId).toBe(alert.alertId);
    // Dispatch is told it came by SMS (no video call: the kiosk rings the centre's voice number).
    expect(receiver.requests[0]?.body.channel).toBe("sms");
    expect(stored).toMatchObject([{ channel: "sms" }]);
    expect(await gateway.store.sms.arrivedBySms([alert.alertId])).toEqual(new Set([alert.alertId]));
    const row = await gateway.store.getAlert(alert.alertId);
    expect(row).toMatchObject({ kioskId: KIOSK, kind: "sos", pressedAt: "2026-12-05T17:00:59.000Z" });
    const steps = await waitFor(async () => {
      const s = await gateway.store.alarms.steps(alert.alertId);
      return s.some((x) => x.type === "received") ? s : undefined;
    }, "received step");
    expect(steps.find((s) => s.type === "received")?.detail).toMatchObject({ channel: "sms" });

    // The same press arriving later over MQTT is the same incident: a duplicate.
    const client = await connectRaw(gateway.mqttUrl, { clientId: KIOSK, username: KIOSK, password: config.mqtt.password });
    defer(() => client.endAsync(true));
    const acks: Ack[] = [];
    client.on("message", (_t, payload) => acks.push(ackSchema.parse(JSON.parse(payload.toString("utf8")))));
    await client.subscribeAsync(topicFor("acks", KIOSK), { qos: 1 });
    const overIp: Alert = { v: 1, alertId: alert.alertId, kioskId: KIOSK, kind: "sos", pressedAt: alert.pressedAt, location: config.location, pressCount: 1 };
    await client.publishAsync(topicFor("alerts", KIOSK), JSON.stringify(overIp), { qos: 1 });
    await waitFor(() => acks.length === 1, "the MQTT ack");
    expect(acks[0]).toMatchObject({ status: "ok", data: { duplicate: true } });
    expect(await gateway.store.listAlerts()).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
  });

  it("forged, replayed, unknown-kiosk and truncated SMS are refused with a reason and nothing is stored", async () => {
    const { gateway, key } = await setup();
    const first = smsAlert(5);
    expect((await post(gateway, { from: "+7701", text: encodeSmsAlert(first, key) })).json.data?.outcome).toBe("accepted");
    const cases: [string, string][] = [
      [encodeSmsAlert(smsAlert(6), randomBytes(32)), "SMS_FORGED"],
      [encodeSmsAlert(smsAlert(5), key), "SMS_REPLAYED"],
      [encodeSmsAlert(smsAlert(4), key), "SMS_REPLAYED"],
      [encodeSmsAlert({ ...smsAlert(7), kioskId: "kz-nobody" }, key), "SMS_UNKNOWN_KIOSK"],
      [encodeSmsAlert(smsAlert(8), key).slice(0, 60), "SMS_MALFORMED"],
    ];
    for (const [text, code] of cases) {
      const { json } = await post(gateway, { from: "+7701", text });
      expect(json.data, text).toMatchObject({ outcome: "refused", code, replies: [] });
    }
    expect(gateway.logs.find("SMS alert refused").map((l) => l.code)).toEqual(cases.map(([, code]) => code));
    expect((await gateway.store.listAlerts()).map((a) => a.alertId)).toEqual([first.alertId]);
    expect((await gateway.store.sms.getKey(KIOSK))?.lastCounter).toBe(5);
    const metrics = (await gateway.metrics.render()).body;
    expect(metrics).toContain('sos_sms_refused_total{code="SMS_REPLAYED"} 2');
    expect(metrics).toContain('sos_sms_refused_total{code="SMS_FORGED"} 1');
    expect(metrics).toContain('sos_alerts_received_by_sms_total{kind="sos"} 1');
  });

  it("an unsigned or wrongly signed hook request is refused before it is read", async () => {
    const { gateway, key } = await setup();
    const text = encodeSmsAlert(smsAlert(1), key);
    expect((await post(gateway, { from: "+7701", text }, "another-secret-0123456789")).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/sms/inbound`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: "+7701", text }) });
    expect(res.status).toBe(401);
    expect(await gateway.store.listAlerts()).toEqual([]);
    expect((await gateway.store.sms.getKey(KIOSK))?.lastCounter).toBe(0);
  });
});

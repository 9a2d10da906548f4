/**
 * Dispatch refuses one kiosk's alerts (a rate limit on that kiosk, a body its parser rejects) while
 * it takes everyone else's. That alert is kept and retried, never dropped, but it holds no other
 * kiosk's alarm: the others reach dispatch within a probe delay, and dispatch is not reported
 * unreachable, since it answers.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Alert, topicFor } from "../../shared/contract.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, waitFor } from "./harness.js";

const REFUSED = "kz-hwy-0801";
const OTHERS = ["kz-hwy-0802", "kz-hwy-0803", "kz-hwy-0804"];

function alertFor(kioskId: string): Alert {
  return { v: 1, alertId: randomUUID(), kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "somewhere" } };
}

describe("an alert dispatch refuses for itself", () => {
  const defer = deferCleanups();

  for (const status of [429, 400, 503]) {
    it(`(${status} to one kiosk) holds no other kiosk's alarm, is retried, and dispatch is not called unreachable`, async () => {
      const { dir, receiver, gateway } = await startSystem(defer, { dispatch: { concurrency: 1, unreachableAfterMs: 2_000 } });
      receiver.respond = (_n, _headers, body) => (body.kioskId === REFUSED ? status : 200);
      const publishers = new Map<string, (alert: Alert) => Promise<unknown>>();
      for (const kioskId of [REFUSED, ...OTHERS]) {
        const config = await provisionTestKiosk(gateway, kioskId, gateway.mqttUrl, dir);
        const client = await connectRaw(gateway.mqttUrl, { clientId: kioskId, username: kioskId, password: config.mqtt.password });
        defer(() => client.endAsync(true));
        publishers.set(kioskId, (alert) => client.publishAsync(topicFor("alerts", kioskId), JSON.stringify(alert), { qos: 1 }));
      }
      const refused = alertFor(REFUSED);
      await publishers.get(REFUSED)?.(refused);
      await waitFor(() => receiver.requests.some((r) => r.body.alertId === refused.alertId), "the refused alert tried");
      const alarms = OTHERS.map(alertFor);
      const sentAt = Date.now();
      for (const alarm of alarms) await publishers.get(alarm.kioskId)?.(alarm);
      await waitFor(() => alarms.every((a) => receiver.deliveredIds().has(a.alertId)), "every other kiosk's alarm at dispatch", 10_000);
      // Within a few probe delays (500 ms doubling to 2.5 s), not behind the refused alert for ever.
      expect(Date.now() - sentAt).toBeLessThan(6_000);
      await new Promise((r) => setTimeout(r, 2_500));
      expect(receiver.requests.filter((r) => r.body.alertId === refused.alertId).length).toBeGreaterThan(1);
      expect(receiver.deliveredIds().has(refused.alertId)).toBe(false);
      const readyz = (await (await fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`)).json()) as { data: { dispatch: string } };
      expect(readyz.data.dispatch).toBe("ok");
      expect(gateway.logs.find("dispatch unreachable: alerts are kept and sent once it answers")).toEqual([]);
    });
  }
});

/**
 * The alarm queue's order, on the gateway (`GET /api/alarm-queue`, gateway/alarms/views.ts openAlarms)
 * and in the page (gateway/console/operator/alarm-order.js queueOrder, which alarms.js sorts its cards
 * with): SOS before test; not acknowledged (escalated or not) before acknowledged; the one that has
 * waited longest first within each. Three alarms a few seconds apart with the newest acknowledged: the
 * two older ones, escalated, were below the fold under it (audit 04).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AlarmView, openAlarms } from "../../gateway/alarms/views.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { Alert } from "../../shared/contract.js";

type Order = { queueOrder: (a: unknown, b: unknown) => number };
const page = (await import(new URL("../../gateway/console/operator/alarm-order.js", import.meta.url).href)) as Order;

const KIOSK = "kz-ord-0001";
const T = Date.parse("2026-12-07T03:00:00.000Z");
let dir: string;
let store: SqliteStore;
let seq = 0;

async function storeAlert(secondsAgo: number): Promise<string> {
  seq += 1;
  const alertId = `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`;
  const at = new Date(T - secondsAgo * 1_000);
  const alert: Alert = { v: 1, alertId, kioskId: KIOSK, kind: "sos", pressedAt: at.toISOString(), location: { lat: 43.25, lon: 76.95, address: "A2 km 12" } };
  await store.recordAlert(alert, at, "{}");
  return alertId;
}

const escalate = (alertId: string, n: number) =>
  store.alarms.recordEscalation({ eventId: `${alertId}-e${n}`, alertId, number: n, at: new Date(T).toISOString(), body: "{}" });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "sos-queue-order-"));
  store = SqliteStore.open(dir);
  await store.putKiosk({ kioskId: KIOSK, secretHash: "x", name: "Park gate", location: { lat: 43.25, lon: 76.95, address: "A2 km 12" }, region: "Almaty" }, { replace: false, now: new Date(T - 3_600_000) });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the alarm queue's order", () => {
  it("puts the escalated alarms nobody acknowledged above a newer acknowledged one, longest waiting first, on the gateway and in the page alike", async () => {
    const oldest = await storeAlert(20);
    const middle = await storeAlert(15);
    const newest = await storeAlert(10);
    await escalate(oldest, 1);
    await escalate(middle, 1);
    await store.alarms.acknowledge(newest, "duty1", new Date(T));

    const queue = await openAlarms(store);
    expect(queue.map((a) => a.alertId)).toEqual([oldest, middle, newest]);
    expect(queue.map((a) => [a.escalations, a.acknowledgedBy])).toEqual([[1, null], [1, null], [0, "duty1"]]);

    // The page sorts the same views the same way, whatever order they reached it in.
    const reversed = [...queue].reverse();
    expect(reversed.sort(page.queueOrder).map((a) => a.alertId)).toEqual([oldest, middle, newest]);
  });

  it("keeps acknowledged alarms below every waiting one, oldest first among them; SOS before test", async () => {
    const a = await storeAlert(40);
    const b = await storeAlert(30);
    const c = await storeAlert(20);
    const d = await storeAlert(10);
    await store.alarms.acknowledge(a, "duty1", new Date(T));
    await store.alarms.acknowledge(c, "duty2", new Date(T));
    const queue = await openAlarms(store);
    expect(queue.map((x) => x.alertId)).toEqual([b, d, a, c]);

    // A test alarm (never in the stored queue: stored closed) sorts after every SOS in the page too.
    const test = { ...(queue[1] as AlarmView), alertId: "test-1", kind: "test", receivedAt: new Date(T - 3_600_000).toISOString() };
    expect([test, ...queue].sort(page.queueOrder).map((x) => x.alertId)).toEqual([b, d, a, c, "test-1"]);
  });
});

/**
 * Two gateway nodes on one PostgreSQL database, routing MQTT through Redis, six kiosks spread over
 * them pressing throughout; Redis is SIGKILLed mid-storm and started again. Every alert reaches
 * dispatch exactly once per alertId (both nodes dispatch from the one outbox, by claims: neither sends
 * a job the other holds), no kiosk keeps an unacknowledged alert, and alerts kept flowing while Redis
 * was down (they never go through it). Real gateways, real kiosks, real PostgreSQL and redis-server.
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../integration/harness.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSKS = 6;

describe("two gateway nodes on one database", () => {
  const { rig } = clusterRigs();

  it("deliver every alert once per alertId while Redis is killed and restarted mid-storm", async () => {
    const { redis, twoNodeFleet } = await rig();
    // Half the fleet tries node B first.
    const { receiver, a, b, kiosks } = await twoNodeFleet("kz-storm-", KIOSKS);

    const pressUntil = Date.now() + 6_000;
    let killed = false;
    let restarted = false;
    let pressedWhileDown = 0;
    while (Date.now() < pressUntil) {
      for (const k of kiosks) k.button.press();
      if (killed && !restarted) pressedWhileDown += kiosks.length;
      await new Promise((r) => setTimeout(r, 350));
      const elapsed = 6_000 - (pressUntil - Date.now());
      if (!killed && elapsed > 2_000) {
        await redis.kill();
        killed = true;
      }
      if (killed && !restarted && elapsed > 4_000) {
        await redis.start();
        restarted = true;
      }
    }
    expect(pressedWhileDown).toBeGreaterThan(0);

    // Every alert any kiosk raised is stored once, acknowledged, and at dispatch once.
    await waitFor(() => kiosks.every((k) => k.outbox.depth === 0), "every kiosk's outbox emptied by acks", 30_000);
    const stored = await a.store.listAlerts({ limit: 10_000 });
    expect(stored.length).toBeGreaterThanOrEqual(KIOSKS);
    await waitFor(async () => (await a.store.countByDelivery()).pending === 0, "every stored alert delivered", 30_000);
    const delivered = receiver.requests.map((r) => String(r.headers["idempotency-key"]));
    expect(delivered.length).toBe(stored.length);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(new Set(delivered)).toEqual(new Set(stored.map((s) => s.alertId)));
    // Both nodes took alerts (the fleet was spread), and both logged the routing gap once.
    for (const n of [a, b]) expect(n.logs.find("cluster routing down (Redis unreachable): this node's kiosks and pages are served, messages to other nodes are not routed until it is back")).toHaveLength(1);
    expect(a.logs.find("alert stored").length).toBeGreaterThan(0);
    expect(b.logs.find("alert stored").length).toBeGreaterThan(0);
  });
});

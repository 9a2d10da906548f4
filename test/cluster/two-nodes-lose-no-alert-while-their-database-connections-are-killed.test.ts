/**
 * Two gateway nodes on one PostgreSQL database (routing through a real redis-server), eight kiosks
 * spread over them pressing throughout, while every database connection of the gateways is killed
 * every 100 ms (pg_terminate_backend). No alert is acknowledged before it is committed (each ack
 * checked against the database at once, from a connection the kills spare), every alert raised is
 * stored once and reaches dispatch (a resend after a lost answer carries the same key and bytes),
 * and no kiosk is left holding an alert.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { waitFor } from "../integration/harness.js";
import { connectionKiller, keepKilling, TEST_PG_SERVER } from "../pg/pg-database.js";
import { clusterRigs } from "./cluster-rig.js";

const KIOSKS = 8;
const CONTROL = "sos-test-control";

describe("two gateway nodes while their database connections are killed", () => {
  const { defer, rig } = clusterRigs();

  it("acknowledge only what is committed, and every alert reaches dispatch once per alertId", async () => {
    const { db, twoNodeFleet } = await rig();
    const control = postgres(db.url, { max: 1, onnotice: () => undefined, connection: { application_name: CONTROL } });
    defer(() => control.end({ timeout: 5 }));
    const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
    defer(() => admin.end({ timeout: 5 }));
    const kill = connectionKiller(admin, db.name, CONTROL);

    const { receiver, a, b, kiosks } = await twoNodeFleet("kz-pgk-", KIOSKS, 20_000);
    const uncommittedAtAck: string[] = [];
    const checks: Promise<void>[] = [];
    for (const kiosk of kiosks) {
      kiosk.events.on("alert.acked", "test", ({ alertId }) => {
        checks.push(
          control`SELECT 1 FROM alerts WHERE alert_id = ${alertId}`.then((rows) => {
            if (rows.length === 0) uncommittedAtAck.push(alertId);
          }),
        );
      });
    }

    const killer = keepKilling(kill, 100);
    const pressUntil = Date.now() + 5_000;
    while (Date.now() < pressUntil) {
      for (const k of kiosks) k.button.press();
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(await killer.stop()).toBeGreaterThan(0);

    await waitFor(() => kiosks.every((k) => k.outbox.depth === 0), "every kiosk's outbox emptied by acks", 60_000);
    await Promise.all(checks);
    expect(uncommittedAtAck).toEqual([]);
    const stored = await a.store.listAlerts({ limit: 10_000 });
    expect(stored.length).toBeGreaterThanOrEqual(KIOSKS);
    await waitFor(async () => (await a.store.countByDelivery()).pending === 0, "every stored alert delivered", 60_000);
    const byKey = new Map<string, Set<string>>();
    for (const r of receiver.requests.filter((q) => q.status === 200)) {
      const key = String(r.headers["idempotency-key"]);
      byKey.set(key, (byKey.get(key) ?? new Set()).add(r.raw));
    }
    expect(new Set(byKey.keys())).toEqual(new Set(stored.map((s) => s.alertId)));
    // A resend (an answer lost with a killed connection) is the same request: one body per alert.
    for (const bodies of byKey.values()) expect(bodies.size).toBe(1);
    for (const g of [a, b]) expect(g.logs.find("alert stored").length).toBeGreaterThan(0);
  });
});

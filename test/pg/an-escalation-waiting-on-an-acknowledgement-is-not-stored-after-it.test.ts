/**
 * Two gateways at the same moment: one acknowledges an alarm while another raises its escalation. The
 * escalation is one statement (one snapshot, taken before the acknowledgement committed) that waits for
 * the alert row's lock. Once the acknowledgement has committed, the escalation must see it and store
 * nothing: an escalation stored after the acknowledgement would call a supervisor about an alarm an
 * operator has already taken.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { newAlert } from "../contracts/gateway-store-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** Resolves once `count` statements of the store's pool wait for a lock. */
async function waitingForLocks(admin: postgres.Sql, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await admin<{ n: number }[]>`
      SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = ${db.name} AND application_name = 'sos-gateway' AND wait_event_type = 'Lock'`;
    if ((row?.n ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} statements to wait for a lock (${row?.n ?? 0} do)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("an alarm acknowledged while another gateway escalates it", () => {
  it("an escalation waiting on the acknowledgement's lock stores nothing once the acknowledgement has committed", async () => {
    const [acking, escalating] = [await PostgresStore.open(db.url), await PostgresStore.open(db.url)];
    const admin = postgres(db.url, { max: 2, onnotice: () => undefined });
    try {
      const alert = newAlert("kz-race");
      await acking.recordAlert(alert, new Date(), "{}");
      // Someone else holds the alert row (as a close or a third gateway's step would), so that both
      // calls start, take their snapshots and queue for the row in this order: the acknowledgement first.
      const holder = admin.reserve();
      const held = await holder;
      await held`BEGIN`;
      await held`SELECT 1 FROM alerts WHERE alert_id = ${alert.alertId} FOR NO KEY UPDATE`;
      const ack = acking.alarms.acknowledge(alert.alertId, "alice", new Date());
      await waitingForLocks(admin, 1);
      const escalation = escalating.alarms.recordEscalation({ eventId: "esc-race-1", alertId: alert.alertId, number: 1, at: new Date().toISOString(), body: "{}" });
      await waitingForLocks(admin, 2);
      await held`COMMIT`;
      held.release();
      expect(await ack).toMatchObject({ result: "acknowledged" });
      expect(await escalation).toBe(false);
      const [outbox] = await admin<{ n: number }[]>`SELECT COUNT(*)::int AS n FROM escalation_outbox WHERE alert_id = ${alert.alertId}`;
      expect(outbox?.n).toBe(0);
      expect((await escalating.alarms.steps(alert.alertId)).map((s) => s.type)).not.toContain("escalated");
      expect(await escalating.alarms.escalationState(alert.alertId, "esc-race-2")).toBe("ended");
    } finally {
      await admin.end({ timeout: 5 });
      await acking.close();
      await escalating.close();
    }
  });
});

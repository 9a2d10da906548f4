/**
 * With a year's worth of alerts stored (mostly closed test alarms), what the console, supervision and
 * the dispatch outbox ask the PostgreSQL store is answered by index: the server's own counters show no
 * sequential scan of alerts or dispatch_outbox. (Pruning old history and countByDelivery, the CLI's
 * summary, are the queries allowed to read them all.)
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

const KIOSKS = 200;
const ALERTS = 40_000;

let db: TestDatabase;
const admin = (): postgres.Sql => postgres(db.url, { max: 1, onnotice: () => undefined });

/** Sequential scans of each table so far (as text; a backend's counts are flushed when it exits). */
async function seqScans(): Promise<Record<string, string>> {
  const sql = admin();
  try {
    const rows = await sql<{ relname: string; seq_scan: string }[]>`SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname IN ('alerts', 'dispatch_outbox')`;
    return Object.fromEntries(rows.map((r) => [r.relname, r.seq_scan]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe("the console's and supervision's queries do not scan every alert ever stored", () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    await (await PostgresStore.open(db.url)).close();
    const sql = admin();
    try {
      await sql`INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, created_at, updated_at)
                SELECT 'k-' || lpad(i::text, 4, '0'), 'h', NULL, 0, 0, '', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z' FROM generate_series(1, ${KIOSKS}) i`;
      // Closed, delivered test alarms, and a few open SOS alarms, pending.
      await sql`INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload, closed_at, outcome, closed_by)
                SELECT 'a-' || i, 'k-' || lpad((i % ${KIOSKS} + 1)::text, 4, '0'), CASE WHEN i % 1000 = 0 THEN 'sos' ELSE 'test' END, t, t, '{}',
                       CASE WHEN i % 1000 = 0 THEN NULL ELSE t END, CASE WHEN i % 1000 = 0 THEN NULL ELSE 'test' END, CASE WHEN i % 1000 = 0 THEN NULL ELSE 'system' END
                FROM generate_series(1, ${ALERTS}) i, LATERAL (SELECT to_char(timestamp '2025-01-01' + i * interval '13 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t) x`;
      await sql`INSERT INTO dispatch_outbox (alert_id, body, attempts, next_attempt_at, delivered_at)
                SELECT alert_id, '{}', CASE WHEN kind = 'sos' THEN 0 ELSE 1 END, 0, CASE WHEN kind = 'sos' THEN NULL ELSE received_at END FROM alerts`;
      await sql`ANALYZE`;
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
  afterAll(async () => db.drop());

  it("lists, opens, supervises and claims by index", async () => {
    const before = await seqScans();
    const store = await PostgresStore.open(db.url);
    const now = new Date("2026-01-01T00:00:00.000Z");
    expect(await store.listAlerts({ limit: 100 })).toHaveLength(100);
    expect(await store.listAlerts({ open: true })).toHaveLength(ALERTS / 1000);
    expect(await store.alarms.unacknowledged()).toHaveLength(ALERTS / 1000);
    expect(await store.alarms.openSosAlarmIds()).toHaveLength(ALERTS / 1000);
    expect(await store.alarms.unacknowledged(["a-1000", "a-2000", "a-1"])).toHaveLength(2);
    expect(await store.alarms.alertsOfKiosk("k-0001", 20)).toHaveLength(20);
    expect(await store.getAlert("a-1000")).toMatchObject({ delivery: "pending" });
    expect(await store.health.listHealth()).toHaveLength(KIOSKS);
    expect((await store.health.getHealth("k-0007"))?.lastTestAlertAt).not.toBeNull();
    expect(await store.health.pendingDispatchCount()).toBe(ALERTS / 1000);
    expect(await store.claimDispatches(now, 10, { owner: "o", now, leaseMs: 1_000 })).toHaveLength(10);
    expect(await store.nextDispatchAt({ owner: "o" })).not.toBeNull();
    await store.close(); // its backends exit: their counters reach the statistics
    const after = await seqScans();
    expect(after).toEqual(before);
  });
});

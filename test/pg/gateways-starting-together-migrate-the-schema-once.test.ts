import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { migrations, SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { migratePostgres, PostgresStore } from "../../gateway/store/postgres/index.js";
import { ErrorCode } from "../../shared/errors.js";
import { createTestDatabase, urlOf, type TestDatabase } from "./pg-database.js";

const made: TestDatabase[] = [];
afterAll(async () => {
  for (const db of made) await db.drop();
});

describe("gateways starting together on an empty PostgreSQL database migrate its schema once", () => {
  it("runs every migration once under the advisory lock, whichever of four openers gets there first", async () => {
    const db = await createTestDatabase();
    made.push(db);
    const [first, second, ...stores] = await Promise.all([migratePostgres(db.url), migratePostgres(db.url), PostgresStore.open(db.url), PostgresStore.open(db.url)]);
    for (const s of stores) await s.close();
    expect([first, second].filter((r) => r.from === 0).length).toBeLessThanOrEqual(1);
    expect([first, second].every((r) => r.to === SCHEMA_VERSION)).toBe(true);
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      expect((await sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`).map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      await sql.end({ timeout: 5 });
    }
    expect(await migratePostgres(db.url)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  });

  it("an inspection open leaves an empty database empty; a database that does not exist is STORE_UNAVAILABLE", async () => {
    const db = await createTestDatabase();
    made.push(db);
    const store = await PostgresStore.open(db.url, { migrate: false });
    await store.close();
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      expect(await sql`SELECT 1 FROM pg_tables WHERE schemaname = current_schema()`).toHaveLength(0);
    } finally {
      await sql.end({ timeout: 5 });
    }
    await expect(PostgresStore.open(urlOf(`${db.name}_missing`))).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
  });

  it("a store of schema 20 migrates in place: an alarm acknowledged then is acknowledged on its alert row too (migration 21)", async () => {
    const db = await createTestDatabase();
    made.push(db);
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      await sql`CREATE TABLE schema_migrations (version integer PRIMARY KEY, what text NOT NULL, applied_at text NOT NULL)`;
      for (const m of migrations.filter((x) => x.version <= 20)) {
        await sql.unsafe(m.postgres);
        await sql`INSERT INTO schema_migrations (version, what, applied_at) VALUES (${m.version}, ${m.what}, 't0')`;
      }
      await sql`INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, created_at, updated_at) VALUES ('k1', 'h', 'Km 1', 1.5, 2.5, 'A2', 't0', 't0')`;
      for (const id of ["a1", "a2"]) {
        await sql`INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload) VALUES (${id}, 'k1', 'sos', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:01.000Z', '{}')`;
      }
      await sql`INSERT INTO alert_events (alert_id, type, at, actor, detail) VALUES ('a1', 'acknowledged', '2025-01-01T00:00:09.000Z', 'alice', '{}')`;
      expect(await migratePostgres(db.url)).toEqual({ from: 20, to: SCHEMA_VERSION });
      expect(await sql`SELECT alert_id, acknowledged_at FROM alerts ORDER BY alert_id`).toEqual([
        { alert_id: "a1", acknowledged_at: "2025-01-01T00:00:09.000Z" },
        { alert_id: "a2", acknowledged_at: null },
      ]);
    } finally {
      await sql.end({ timeout: 5 });
    }
    const store = await PostgresStore.open(db.url);
    try {
      expect((await store.alarms.unacknowledged()).map((a) => a.alertId)).toEqual(["a2"]);
    } finally {
      await store.close();
    }
  });
});

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
});

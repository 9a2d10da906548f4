/**
 * A database migrated by a newer release (schema_migrations above this release's SCHEMA_VERSION), as
 * after a rollback: `sos store migrate` (the real CLI) does not call it "up to date" but says that it
 * is newer than this release and left as it is; a gateway starting on it warns the same at start.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { migratePostgres } from "../../gateway/store/postgres/index.js";
import { SCHEMA_NEWER } from "../../gateway/store/postgres/schema.js";
import { deferCleanups } from "../integration/cleanups.js";
import { spawnSos, startTestGateway, tempDir } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

describe("a schema newer than this release", () => {
  const defer = deferCleanups();
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("is said by sos store migrate and warned of at gateway start, not called up to date", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    await migratePostgres(db.url);
    const newer = SCHEMA_VERSION + 1;
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      await sql`INSERT INTO schema_migrations (version, what, applied_at) VALUES (${newer}, 'a later release', ${new Date().toISOString()})`;
    } finally {
      await sql.end({ timeout: 5 });
    }

    const run = spawnSos(["store", "migrate", "--store", db.url]);
    expect(await run.exited, run.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(run.stdout).toEqual([`the store ${db.url} has schema version ${newer}, newer than this release's ${SCHEMA_VERSION} (a newer release migrated it: a rollback?): left as it is, nothing migrated back`]);

    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(dir.path, { store: { url: db.url } });
    defer(() => gateway.stop());
    expect(gateway.logs.find(SCHEMA_NEWER)).toEqual([expect.objectContaining({ level: "warn", schemaVersion: newer, releaseSchemaVersion: SCHEMA_VERSION })]);
  });
});

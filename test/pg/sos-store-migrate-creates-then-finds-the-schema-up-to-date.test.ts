/**
 * `sos store migrate` (the real CLI) on a fresh database creates the schema and says from which
 * version to which; run again (here through SOS_STORE_URL) it finds it up to date; the password in
 * the URL is never printed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { spawnSos } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase, urlOf } from "./pg-database.js";

describe("sos store migrate creates the schema, then finds it up to date", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("prints 0 → the current version the first time, 'up to date' the second", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const first = spawnSos(["store", "migrate", "--store", db.url]);
    expect(await first.exited, first.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(first.stdout).toEqual([`migrated the store ${db.url} from schema version 0 to ${SCHEMA_VERSION}`]);

    const again = spawnSos(["store", "migrate"], { env: { SOS_STORE_URL: db.url } });
    expect(await again.exited, again.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(again.stdout).toEqual([`the store ${db.url} is up to date (schema version ${SCHEMA_VERSION})`]);
  });

  it("a database that does not exist: one line naming the store without its password, exit 1", async () => {
    // A password in the URL (trust authentication ignores it) that must not be printed.
    const url = urlOf("sos_no_such_database").replace(/^(postgres(?:ql)?:\/\/[^:@/]+)(?::[^@/]*)?@/, "$1:hunter2@");
    expect(url).toContain(":hunter2@");
    const run = spawnSos(["store", "migrate", "--store", url]);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(/^sos: .*sos_no_such_database/);
    expect(run.stderr[0]).not.toContain("hunter2");
  });
});

/**
 * The integration suites' TestStore on PostgreSQL: each gateway a suite starts gets a fresh database
 * (as each SQLite gateway gets a fresh folder), made ahead in a small pool because `url()` is called
 * synchronously while a suite builds its gateway; every database is dropped after the file.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { TestStore } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

/** Fresh databases kept ready: more than any test or `beforeAll` starts gateways between two tests. */
const SPARE = 3;

export function postgresStore(): TestStore {
  const ready: TestDatabase[] = [];
  const made: TestDatabase[] = [];
  const topUp = async (): Promise<void> => {
    while (ready.length < SPARE) {
      const db = await createTestDatabase();
      made.push(db);
      ready.push(db);
    }
  };
  beforeAll(topUp);
  beforeEach(topUp);
  afterAll(async () => {
    for (const db of made) await db.drop();
  });
  return {
    name: "postgres",
    url: () => {
      const db = ready.shift();
      if (db === undefined) throw new Error(`more than ${SPARE} gateways started between two tests: raise SPARE in test/pg/pg-store.ts`);
      return db.url;
    },
  };
}

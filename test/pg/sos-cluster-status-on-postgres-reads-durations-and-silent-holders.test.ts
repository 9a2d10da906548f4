/**
 * `sos cluster status --store postgres://…` reads as on SQLite: durations in hours, minutes and
 * seconds, a lease whose holder beats no more marked so (the next gateway to run its job takes it),
 * holderSilent in --json; and piped into a reader that stops early it ends quietly (exit 141).
 */
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../gateway/store/open.js";
import { EXIT_BROKEN_PIPE } from "../../scripts/lib/cli.js";
import { expectReadableStatus, expectStatusJson, seedClusterStatus } from "../integration/cluster-status-scenario.js";
import { spawnSos } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

describe("sos cluster status on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("reads durations in hours and minutes, marks silent holders, and ends quietly when its reader goes", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const store = await openStore({ url: db.url });
    try {
      await seedClusterStatus(store.leases);
    } finally {
      await store.close();
    }
    const table = spawnSos(["cluster", "status", "--store", db.url]);
    expect(await table.exited, table.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expectReadableStatus(table.stdout);
    const json = spawnSos(["cluster", "status", "--store", db.url, "--json"]);
    expect(await json.exited, json.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expectStatusJson(json.stdout);

    // `sos cluster status --store … | true`: the reader is gone before the CLI writes.
    const cut = spawnSos(["cluster", "status", "--store", db.url]);
    cut.child.stdout?.destroy();
    expect(await cut.exited).toEqual({ code: EXIT_BROKEN_PIPE, signal: null });
    expect(cut.stderr).toEqual([]);
  });
});

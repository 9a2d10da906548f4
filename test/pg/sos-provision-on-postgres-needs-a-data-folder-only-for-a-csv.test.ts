/**
 * `sos provision` on a cluster's PostgreSQL store (the real CLI): one kiosk needs only --store (it is
 * a password kiosk, registered in the database; no data folder is read or made), while --csv, whose
 * kiosks get certificates when the gateway's data folder has a CA, is refused in one line without
 * --data-dir, and nothing is registered.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { spawnSos, tempDir } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

const location = ["--lat", "43.25", "--lon", "76.95", "--address", "Highway A2, km 12"];

describe("sos provision on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  const dirs: { remove(): void }[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
    for (const d of dirs) d.remove();
  });

  it("registers one kiosk with --store alone, and refuses --csv without --data-dir in one line", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const dir = tempDir();
    dirs.push(dir);
    const migrated = spawnSos(["store", "migrate", "--store", db.url]);
    expect((await migrated.exited).code, migrated.stderr.join(" | ")).toBe(0);

    const out = join(dir.path, "kz-pgp-0001");
    const one = spawnSos(["provision", "kz-pgp-0001", "--store", db.url, "--gateway", "mqtt://gw-a:1883", "--gateway", "mqtt://gw-b:1883", "--out", out, ...location], { env: { SOS_STORE_URL: "" } });
    expect(await one.exited, one.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(one.stdout[0]).toBe(`provisioned kiosk kz-pgp-0001: wrote ${join(out, "kiosk.json")}`);
    expect((JSON.parse(readFileSync(join(out, "kiosk.json"), "utf8")) as { mqtt: { urls: string[] } }).mqtt.urls).toEqual(["mqtt://gw-a:1883", "mqtt://gw-b:1883"]);
    // No data folder was made where the CLI ran (its default would have been ./data).
    expect(existsSync(join(process.cwd(), "data", "gateway.db"))).toBe(false);

    const csv = join(dir.path, "kiosks.csv");
    writeFileSync(csv, "kz-pgp-0002,43.25,76.95,Highway A2 km 13\n");
    const bulk = spawnSos(["provision", "--csv", csv, "--store", db.url, "--gateway", "mqtt://gw-a:1883", "--out", join(dir.path, "bulk")]);
    expect((await bulk.exited).code).toBe(1);
    expect(bulk.stderr).toEqual(["sos: --csv needs --data-dir, with --store too: the gateway's data folder holds the CA that decides whether the kiosks get certificates or passwords (in a cluster, any node's)"]);

    const store = await PostgresStore.open(db.url);
    try {
      expect(await store.getKiosk("kz-pgp-0001")).toMatchObject({ kioskId: "kz-pgp-0001", location: { address: "Highway A2, km 12" } });
      expect(await store.getKiosk("kz-pgp-0002")).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

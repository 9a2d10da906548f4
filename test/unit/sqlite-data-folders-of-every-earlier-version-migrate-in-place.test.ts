import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { migrations, SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data folder as a gateway of schema `version` left it: its migrations only, a kiosk and a pending alert. */
function folderAt(version: number): string {
  const dir = mkdtempSync(join(tmpdir(), `sos-v${version}-`));
  dirs.push(dir);
  const db = new Database(join(dir, STORE_FILE));
  for (const m of migrations.filter((x) => x.version <= version)) db.exec(m.sqlite);
  db.pragma(`user_version = ${version}`);
  db.prepare("INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, created_at, updated_at) VALUES ('k1', 'h', 'Km 1', 1.5, 2.5, 'A2', 't0', 't0')").run();
  db.prepare("INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload) VALUES ('a1', 'k1', 'sos', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:01.000Z', '{}')").run();
  db.prepare("INSERT INTO dispatch_outbox (alert_id, body, attempts, next_attempt_at) VALUES ('a1', 'body', 0, 1000)").run();
  db.close();
  return dir;
}

describe("a SQLite data folder of any earlier schema version opens and migrates in place", () => {
  it.each(migrations.filter((m) => m.version < SCHEMA_VERSION).map((m) => m.version))("from version %i, keeping its kiosks and pending alerts", async (version) => {
    const dir = folderAt(version);
    const store = SqliteStore.open(dir);
    try {
      expect(await store.getKiosk("k1")).toMatchObject({ kioskId: "k1", location: { lat: 1.5, lon: 2.5, address: "A2" } });
      expect(await store.getAlert("a1")).toMatchObject({ kioskId: "k1", delivery: "pending", pressCount: 1, closedAt: null });
      expect(await store.claimDispatches(new Date(1_000), 10, { owner: "o", now: new Date(1_000), leaseMs: 1_000 })).toEqual([{ alertId: "a1", body: "body", attempts: 0 }]);
    } finally {
      await store.close();
    }
    const db = new Database(join(dir, STORE_FILE), { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it("from version 20, an alarm acknowledged then is acknowledged on its alert row too (migration 21), and not escalated", async () => {
    const dir = folderAt(20);
    const db = new Database(join(dir, STORE_FILE));
    db.prepare("INSERT INTO alerts (alert_id, kiosk_id, kind, pressed_at, received_at, payload) VALUES ('a2', 'k1', 'sos', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:02.000Z', '{}')").run();
    db.prepare("INSERT INTO alert_events (alert_id, type, at, actor, detail) VALUES ('a1', 'acknowledged', '2025-01-01T00:00:09.000Z', 'alice', '{}')").run();
    db.close();
    const store = SqliteStore.open(dir);
    try {
      expect((await store.alarms.unacknowledged()).map((a) => a.alertId)).toEqual(["a2"]);
      expect(await store.alarms.acknowledge("a2", "bob", new Date("2025-01-01T00:01:00.000Z"))).toMatchObject({ result: "acknowledged" });
    } finally {
      await store.close();
    }
    const after = new Database(join(dir, STORE_FILE), { readonly: true });
    expect(after.prepare("SELECT alert_id, acknowledged_at FROM alerts ORDER BY alert_id").all()).toEqual([
      { alert_id: "a1", acknowledged_at: "2025-01-01T00:00:09.000Z" },
      { alert_id: "a2", acknowledged_at: "2025-01-01T00:01:00.000Z" },
    ]);
    after.close();
  });
});

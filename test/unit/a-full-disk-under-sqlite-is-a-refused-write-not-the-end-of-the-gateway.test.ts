/**
 * SQLite does a call's work before it makes the call's promise, so a write on a full disk
 * (SQLITE_FULL) is thrown, not rejected. Through the watched store every call answers with a promise:
 * a caller that only .catch()es (the node's beat, on a timer) sees a rejection, and the gateway does
 * not end; a refused write on a store that still reads is not an outage.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { Singletons } from "../../gateway/cluster/singleton.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { StoreAvailability } from "../../gateway/store/availability.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { systemClock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { waitFor } from "../integration/harness.js";

describe("a full disk under SQLite", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("is a rejected write through the watched store, the beat on its timer goes on, and the store is not called down", async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-full-"));
    const raw = SqliteStore.open(dir);
    // The database may not grow by one page more: what a full partition does to every write.
    const db = (raw as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${Number(db.pragma("page_count", { simple: true }))}`);
    const filler = (i: number) => ({ nodeId: "gw-x", holder: `gw-x/${"h".repeat(200)}/${i}`, startedAt: new Date().toISOString(), beatAt: Date.now(), connections: 0, deadAfterMs: 15_000 });
    let full = false;
    for (let i = 0; i < 10_000 && !full; i += 1) {
      try {
        void raw.leases.beat(filler(i));
      } catch (err) {
        full = (err as { code?: string }).code === "SQLITE_FULL";
      }
    }
    expect(full).toBe(true);
    const logs = new LogCapture();
    const availability = new StoreAvailability({
      probe: () => Promise.resolve().then(() => raw.health.pendingDispatchCount()),
      probeMs: 50,
      events: new EventBus<GatewayEvents>(logs.logger("bus")),
      clock: systemClock,
      log: logs.logger("store"),
    });
    const store = availability.watch(raw);
    const node = { nodeId: "gw-a", holder: `gw-a/${"h".repeat(200)}/x`, startedAt: new Date().toISOString(), beatAt: Date.now(), connections: 0, deadAfterMs: 15_000 };
    const beat = store.leases.beat(node);
    expect(beat).toBeInstanceOf(Promise);
    await expect(beat).rejects.toMatchObject({ code: "SQLITE_FULL" });

    const singletons = new Singletons(() => store.leases, systemClock, logs.logger("cluster", "debug"), node.holder);
    singletons.startBeats("gw-a", () => 0, 20, 15_000);
    await waitFor(() => logs.find("node beat not stored: tried again at the next").length >= 3, "three beats refused, logged");
    await new Promise((r) => setTimeout(r, 100)); // the probe a failed call starts
    expect(availability.status().up).toBe(true);
    await singletons.releaseAll();
    availability.stop();
    await raw.close();
  });
});

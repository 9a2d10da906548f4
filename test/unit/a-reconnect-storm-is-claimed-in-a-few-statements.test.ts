/**
 * gateway/cluster/kiosk-owners.ts: the claims of a reconnect storm (thousands of kiosks connecting
 * to a node at once) go to the store in a few statements, each connection still answered with its
 * own kiosk's state, and its "still mine?" questions when it loses them are read the same way; a lone connection goes on its own after a few milliseconds; a store that fails rejects every claim of the
 * statement (supervision then goes on from what the node knows). Real SQLite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KioskOwners } from "../../gateway/cluster/kiosk-owners.js";
import type { LeaseStore } from "../../gateway/store/lease-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { registerKiosks } from "./supervision-rig.js";

const clock = { now: () => new Date() };
let dir: string | undefined;
let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  store = undefined;
  dir = undefined;
});

function rig(failing = false): { owners: KioskOwners; statements: string[][]; reads: string[][]; ownerReads: string[][] } {
  dir = mkdtempSync(join(tmpdir(), "sos-claims-"));
  const s = SqliteStore.open(dir);
  store = s;
  const statements: string[][] = [];
  const reads: string[][] = [];
  const leases: LeaseStore = Object.create(s.leases) as LeaseStore;
  leases.claimKiosks = (kioskIds, holder, at) => {
    statements.push([...kioskIds]);
    return failing ? Promise.reject(new Error("store unavailable")) : s.leases.claimKiosks(kioskIds, holder, at);
  };
  const ownerReads: string[][] = [];
  leases.ownersOf = (kioskIds) => {
    ownerReads.push([...kioskIds]);
    return s.leases.ownersOf(kioskIds);
  };
  const health = Object.create(s.health) as typeof s.health;
  health.getHealthOf = (kioskIds) => {
    reads.push([...kioskIds]);
    return s.health.getHealthOf(kioskIds);
  };
  const owners = new KioskOwners({ holder: "gw-a/1", everyMs: 5_000, deadAfterMs: 15_000, moveGraceMs: 10_000 }, { leases: () => leases, health: () => health, clock, log: new LogCapture().logger("owners") });
  return { owners, statements, reads, ownerReads };
}

describe("the claims of a reconnect storm", () => {
  it("1 200 connections at once: a few statements, every kiosk owned by this node, each claim answered with its own kiosk's state", async () => {
    const { owners, statements, reads } = rig();
    const ids = Array.from({ length: 1_200 }, (_, i) => `kz-st-${String(i).padStart(4, "0")}`);
    await registerKiosks(store!, ...ids);
    const rows = await Promise.all(ids.map((id, i) => owners.claim(id, i % 2 === 0)));
    expect(statements.map((ids) => ids.length)).toEqual([500, 500, 200]);
    expect(statements.flat().sort()).toEqual(ids);
    expect(reads.flat().sort()).toEqual(ids);
    rows.forEach((row, i) => expect(row?.kioskId).toBe(i % 2 === 0 ? ids[i] : undefined));
    expect(await store!.leases.ownedCounts()).toEqual({ "gw-a/1": 1_200 });
  });

  it("a node losing 1 200 connections at once asks whose they are in a few reads, each answered for its own kiosk", async () => {
    const { owners, ownerReads } = rig();
    const ids = Array.from({ length: 1_200 }, (_, i) => `kz-st-${String(i).padStart(4, "0")}`);
    await registerKiosks(store!, ...ids);
    await Promise.all(ids.map((id) => owners.claim(id, false)));
    await store!.leases.claimKiosks(ids.filter((_, i) => i % 3 === 0), "gw-b/1", new Date().toISOString()); // a third moved to node B
    const mine = await Promise.all([...ids, "kz-nobody"].map((id) => owners.stillMine(id)));
    expect(ownerReads.map((ids) => ids.length)).toEqual([500, 500, 201]);
    expect(mine).toEqual([...ids.map((_, i) => i % 3 !== 0), false]);
  });

  it("a lone connection is claimed on its own", async () => {
    const { owners, statements } = rig();
    await registerKiosks(store!, "kz-st-0001");
    await expect(owners.claim("kz-st-0001", true)).resolves.toMatchObject({ kioskId: "kz-st-0001" });
    expect(statements).toEqual([["kz-st-0001"]]);
  });

  it("a store that cannot take the statement rejects every claim in it, and the next claims are tried again", async () => {
    const { owners, statements } = rig(true);
    const results = await Promise.allSettled(["kz-1", "kz-2", "kz-3"].map((id) => owners.claim(id, false)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    await expect(owners.claim("kz-4", false)).rejects.toThrow("store unavailable");
    expect(statements.flat()).toEqual(["kz-1", "kz-2", "kz-3", "kz-4"]);
  });
});

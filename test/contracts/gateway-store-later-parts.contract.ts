/** The GatewayStore contract's EIDO update outbox, SMS and release sides (called by gateway-store.contract.ts). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RELEASE_CHUNK_BYTES } from "../../gateway/store/release-store.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { at, attempt, claimBy, ids, iso, newAlert, registered, type StoreHarness } from "./gateway-store-fixtures.js";
import { ownerOf } from "../fixtures/kiosk-owner.js";

export function describeLaterStoreParts(harness: StoreHarness, fresh: () => Promise<GatewayStore>): void {
  describe("EIDO updates (store.dispatchUpdates)", () => {
    it("queues an update once, holds an alarm's updates until its alert is delivered, sends them in order, claimed like any outbox", async () => {
      const store = await fresh();
      const other = await harness.another();
      const a = newAlert("k1");
      await store.recordAlert(a, at(0), '{"first":true}');
      const u = store.dispatchUpdates;
      expect(await u.dispatchBody(a.alertId)).toBe('{"first":true}');
      expect(await u.dispatchBody("unknown")).toBeUndefined();
      const update = (step: string, ms: number) => ({ eventId: `${a.alertId}:${step}`, alertId: a.alertId, step, body: `{"${step}":1}`, at: iso(ms) });
      expect(await u.queueUpdate(update("acknowledged", 10))).toBe(true);
      expect(await u.queueUpdate(update("closed", 20))).toBe(true);
      expect(await u.queueUpdate({ ...update("acknowledged", 30), body: "{}" })).toBe(false);
      expect(await u.claimUpdates(at(1_000), 10, claimBy("one", 1_000))).toEqual([]); // the alert is not delivered yet
      await store.recordAttempt(attempt(a.alertId, 1, true, at(100)), null);
      expect(await ids(u.claimUpdates(at(1_000), 10, claimBy("one", 1_000)))).toEqual([`${a.alertId}:acknowledged`]);
      expect(await other.dispatchUpdates.claimUpdates(at(1_000), 10, claimBy("two", 1_000))).toEqual([]);
      await u.recordUpdateAttempt({ id: `${a.alertId}:acknowledged`, attempt: 1, startedAt: iso(1_000), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
      expect(await ids(other.dispatchUpdates.claimUpdates(at(1_000), 10, claimBy("two", 1_000)))).toEqual([`${a.alertId}:closed`]);
      expect(await u.nextUpdateAt({ owner: "one" })).toEqual(at(31_000)); // two's lease
      expect((await u.updatesOf(a.alertId)).map((r) => [r.step, r.body, r.attempts, r.deliveredAt])).toEqual([
        ["acknowledged", '{"acknowledged":1}', 1, iso(1_005)],
        ["closed", '{"closed":1}', 0, null],
      ]);
      // "two" died holding `closed`: taken over after its lease, as a further attempt (it may have been sent).
      expect(await u.claimUpdates(at(31_000), 10, claimBy("three", 31_000))).toEqual([{ id: `${a.alertId}:closed`, body: '{"closed":1}', attempts: 1 }]);
    });
  });

  describe("the second path (store.sms)", () => {
    it("keeps a kiosk's key and its highest counter (one of two racing copies advances it), and the alerts that came by SMS", async () => {
      const store = await fresh();
      const other = await harness.another();
      await store.sms.putKey("k1", "key-1", at(0));
      expect(await store.sms.getKey("k1")).toEqual({ kioskId: "k1", key: "key-1", lastCounter: 0, issuedAt: iso(0) });
      expect(await store.sms.getKey("nope")).toBeUndefined();
      const both = await Promise.all([store.sms.advanceCounter("k1", 5), other.sms.advanceCounter("k1", 5)]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await store.sms.advanceCounter("k1", 4)).toBe(false);
      expect(await store.sms.advanceCounter("k1", 2 ** 40)).toBe(true);
      expect((await store.sms.getKey("k1"))?.lastCounter).toBe(2 ** 40);
      await store.sms.putKey("k1", "key-2", at(1));
      expect(await store.sms.getKey("k1")).toEqual({ kioskId: "k1", key: "key-2", lastCounter: 0, issuedAt: iso(1) });
      await store.sms.recordArrival({ alertId: "a-1", kioskId: "k1", sender: "+7700", counter: 1, receivedAt: iso(2) });
      await store.sms.recordArrival({ alertId: "a-1", kioskId: "k1", sender: "hook", counter: 2, receivedAt: iso(3) });
      expect(await store.sms.arrivedBySms(["a-1", "a-2"])).toEqual(new Set(["a-1"]));
      expect(await store.sms.arrivedBySms([])).toEqual(new Set());
    });
  });

  describe("release rollouts (store.releases)", () => {
    it("starts a rollout unless one of that version runs, replaces a finished one, lists newest first, records progress", async () => {
      const store = await fresh();
      const rollout = (version: string) => ({ version, target: "all", releaseUrl: "https://gw/releases", waves: [["k1"], ["k2", "k3"]], wave: 0, offeredWave: -1, state: "running" as const, reason: null, waveDeadlineMs: 3_600_000 });
      expect(await store.releases.putRollout(rollout("1.1.0"), at(0))).toBe(true);
      expect(await store.releases.putRollout(rollout("1.2.0"), at(10))).toBe(true);
      expect(await store.releases.putRollout({ ...rollout("1.1.0"), target: "5%" }, at(20))).toBe(false);
      await store.releases.updateRollout("1.1.0", { wave: 1, offeredWave: 1, state: "halted", reason: "k2 rolled back", waveOfferedAt: iso(25), noAnswer: ["k1"] }, at(30));
      expect(await store.releases.getRollout("1.1.0")).toEqual({
        ...rollout("1.1.0"),
        wave: 1,
        offeredWave: 1,
        state: "halted",
        reason: "k2 rolled back",
        waveOfferedAt: iso(25),
        noAnswer: ["k1"],
        createdAt: iso(0),
        updatedAt: iso(30),
      });
      expect((await store.releases.listRollouts()).map((r) => r.version)).toEqual(["1.2.0", "1.1.0"]);
      expect(await store.releases.putRollout({ ...rollout("1.1.0"), target: "5%" }, at(40))).toBe(true);
      expect((await store.releases.listRollouts()).map((r) => [r.version, r.target])).toEqual([["1.1.0", "5%"], ["1.2.0", "all"]]);
      expect(await store.releases.getRollout("9.9.9")).toBeUndefined();
      expect(await store.releases.getRollout("1.1.0")).toMatchObject({ waveOfferedAt: null, noAnswer: [], waveDeadlineMs: 3_600_000 });
    });

    it("keeps a published release whole (chunked past 1 MiB), same bytes again is a no-op, other bytes are refused, lists newest first", async () => {
      const store = await fresh();
      const archive = Buffer.alloc(RELEASE_CHUNK_BYTES * 2 + 12_345);
      for (let i = 0; i < archive.length; i += 1) archive[i] = (i * 7 + (i >> 11)) & 0xff;
      const sha256 = createHash("sha256").update(archive).digest("hex");
      const release = { version: "1.5.0", file: "sos-kiosk-1.5.0.tar.gz", sha256, size: archive.length, manifest: JSON.stringify({ v: 1, version: "1.5.0" }) };
      expect(await store.releases.publishRelease(release, archive, at(0))).toBe("published");
      expect(await store.releases.publishRelease(release, archive, at(5))).toBe("same");
      expect(await store.releases.publishRelease({ ...release, sha256: "0".repeat(64) }, Buffer.from("other"), at(6))).toBe("different");
      expect(await store.releases.getRelease("1.5.0")).toEqual({ ...release, publishedAt: iso(0) });
      const chunks: Buffer[] = [];
      for await (const c of store.releases.readRelease("1.5.0")) chunks.push(c);
      expect(chunks.length).toBe(3);
      expect(Buffer.concat(chunks).equals(archive)).toBe(true);
      expect(await store.releases.publishRelease({ ...release, version: "1.6.0", size: 3 }, Buffer.from("abc"), at(10))).toBe("published");
      expect((await store.releases.listReleases()).map((r) => r.version)).toEqual(["1.6.0", "1.5.0"]);
      expect(await store.releases.getRelease("9.9.9")).toBeUndefined();
      const none: Buffer[] = [];
      for await (const c of store.releases.readRelease("9.9.9")) none.push(c);
      expect(none).toEqual([]);
    });
  });

  describe("leases (store.leases)", () => {
    it("is taken when free, renewed by its holder only, taken by another once lapsed, released by its holder only", async () => {
      const store = await fresh();
      const { leases } = store;
      expect(await leases.acquire("prune", "gw-a", at(0), 1_000)).toBe(true);
      expect(await leases.acquire("prune", "gw-b", at(500), 1_000)).toBe(false);
      // A renewal moves `until` and keeps when the holder took it.
      expect(await leases.acquire("prune", "gw-a", at(900), 1_000)).toBe(true);
      expect(await leases.list()).toEqual([{ name: "prune", holder: "gw-a", until: at(1_900).getTime(), acquiredAt: iso(0) }]);
      expect(await leases.acquire("prune", "gw-b", at(1_899), 1_000)).toBe(false);
      // Lapsed: another takes it, and the old holder no longer holds it.
      expect(await leases.acquire("prune", "gw-b", at(1_900), 1_000)).toBe(true);
      expect(await leases.acquire("prune", "gw-a", at(2_000), 1_000)).toBe(false);
      expect(await leases.list()).toEqual([{ name: "prune", holder: "gw-b", until: at(2_900).getTime(), acquiredAt: iso(1_900) }]);
      await leases.release("prune", "gw-a");
      expect((await leases.list()).map((l) => l.holder)).toEqual(["gw-b"]);
      await leases.release("prune", "gw-b");
      expect(await leases.list()).toEqual([]);
      expect(await leases.acquire("prune", "gw-a", at(2_100), 1_000)).toBe(true);
      // Leases are independent of each other.
      expect(await leases.acquire("rollouts", "gw-b", at(2_100), 1_000)).toBe(true);
    });

    it("nodes beat (one row per process, the latest beat and silence deadline kept), are listed newest beat first, and leave at a clean stop, which is kept per node id", async () => {
      const store = await fresh();
      const { leases } = store;
      await leases.beat({ nodeId: "gw-a", holder: "gw-a/1", startedAt: iso(0), beatAt: at(0).getTime(), connections: 3, deadAfterMs: 15_000 });
      await leases.beat({ nodeId: "gw-b", holder: "gw-b/1", startedAt: iso(100), beatAt: at(100).getTime(), connections: 1, deadAfterMs: 3_000 });
      await leases.beat({ nodeId: "gw-a", holder: "gw-a/1", startedAt: iso(0), beatAt: at(5_000).getTime(), connections: 4, deadAfterMs: 6_000 });
      expect(await leases.nodes()).toEqual([
        { nodeId: "gw-a", holder: "gw-a/1", startedAt: iso(0), beatAt: at(5_000).getTime(), connections: 4, deadAfterMs: 6_000 },
        { nodeId: "gw-b", holder: "gw-b/1", startedAt: iso(100), beatAt: at(100).getTime(), connections: 1, deadAfterMs: 3_000 },
      ]);
      await leases.leave("gw-a/1", at(6_000));
      expect((await leases.nodes()).map((n) => n.holder)).toEqual(["gw-b/1"]);
      // Its stop is kept, one per node id (the last), newest first; a process that never beat leaves no stop.
      expect(await leases.stoppedNodes()).toEqual([{ nodeId: "gw-a", holder: "gw-a/1", startedAt: iso(0), stoppedAt: at(6_000).getTime() }]);
      await leases.beat({ nodeId: "gw-a", holder: "gw-a/2", startedAt: iso(7_000), beatAt: at(7_000).getTime(), connections: 0, deadAfterMs: 6_000 });
      await leases.leave("gw-a/2", at(9_000));
      await leases.leave("gw-b/1", at(8_000));
      await leases.leave("gw-z/1", at(9_500));
      // A process that gave up during its start leaves, and no stop is kept for it.
      await leases.beat({ nodeId: "gw-c", holder: "gw-c/1", startedAt: iso(9_600), beatAt: at(9_600).getTime(), connections: 0, deadAfterMs: 6_000 });
      await leases.leave("gw-c/1", null);
      expect((await leases.nodes()).map((n) => n.holder)).toEqual([]);
      expect(await leases.stoppedNodes()).toEqual([
        { nodeId: "gw-a", holder: "gw-a/2", startedAt: iso(7_000), stoppedAt: at(9_000).getTime() },
        { nodeId: "gw-b", holder: "gw-b/1", startedAt: iso(100), stoppedAt: at(8_000).getTime() },
      ]);
    });

    it("a lease held by a process whose node went silent is taken at once; retiring dead processes removes their rows and leases, nothing else", async () => {
      const store = await fresh();
      const { leases } = store;
      await leases.beat({ nodeId: "gw-a", holder: "gw-a/1", startedAt: iso(0), beatAt: at(0).getTime(), connections: 0, deadAfterMs: 15_000 });
      await leases.beat({ nodeId: "gw-b", holder: "gw-b/1", startedAt: iso(0), beatAt: at(10_000).getTime(), connections: 0, deadAfterMs: 15_000 });
      expect(await leases.acquire("prune", "gw-a/1", at(0), 86_400_000)).toBe(true);
      expect(await leases.acquire("rollouts", "gw-b/1", at(0), 86_400_000)).toBe(true);
      // At 20 s gw-a is 20 s silent (past its 15 s), gw-b 10 s: only gw-a's job changes hands.
      expect(await leases.acquire("prune", "gw-c/1", at(20_000), 86_400_000)).toBe(true);
      expect(await leases.acquire("rollouts", "gw-c/1", at(20_000), 86_400_000)).toBe(false);
      expect(await leases.acquire("prune", "gw-a/1", at(20_001), 86_400_000)).toBe(false);
      await leases.retire(["gw-b/1", "gw-x/1"]);
      await leases.retire([]);
      expect((await leases.nodes()).map((n) => n.holder)).toEqual(["gw-a/1"]);
      expect((await leases.list()).map((l) => [l.name, l.holder])).toEqual([["prune", "gw-c/1"]]);
    });

    it("kiosk owners: a new connection takes the kiosk; a seen kiosk whose owner stopped beating (or that has none) is taken once", async () => {
      const store = await fresh();
      const { leases } = store;
      await registered(store, "k-1", "k-2", "k-3", "k-4", "k-5");
      const to = (kioskId: string, state: "online" | "offline" | "never-seen" | "decommissioned") => ({ kioskId, from: "never-seen" as const, to: state, reason: "r", components: [], at: iso(1) });
      await store.health.recordSupervision({ transitions: [to("k-1", "online"), to("k-2", "offline"), to("k-3", "online"), to("k-4", "never-seen"), to("k-5", "decommissioned")], events: [] });
      await leases.beat({ nodeId: "gw-a", holder: "a/1", startedAt: iso(0), beatAt: at(10_000).getTime(), connections: 1, deadAfterMs: 15_000 });
      await leases.beat({ nodeId: "gw-b", holder: "b/1", startedAt: iso(0), beatAt: at(2_000).getTime(), connections: 1, deadAfterMs: 15_000 });
      await leases.claimKiosks(["k-1", "k-2", "k-1"], "b/1", iso(1_000));
      await leases.claimKiosks(["k-1"], "a/1", iso(1_500)); // k-1 connected again, to node A
      expect(await ownerOf(leases, "k-1")).toBe("a/1");
      expect(await ownerOf(leases, "k-4")).toBeNull();
      expect(await leases.ownersOf(["k-4", "k-2", "k-1", "k-2"])).toEqual(expect.arrayContaining([{ kioskId: "k-1", holder: "a/1" }, { kioskId: "k-2", holder: "b/1" }]));
      expect(await leases.ownersOf(["k-4", "k-2", "k-1"])).toHaveLength(2);
      expect(await leases.ownersOf([])).toEqual([]);
      expect(await leases.ownedCounts()).toEqual({ "a/1": 1, "b/1": 1 });
      // k-3 (seen, no owner) is taken at once; never-seen and decommissioned kiosks are nobody's to
      // supervise. B beats for the last time at 2 s: at 20 s (alive since 5 s) it is dead, k-2 is taken.
      expect(await leases.takeOrphans("a/1", at(1_000).getTime(), iso(20_000))).toEqual(["k-3"]);
      expect(await leases.takeOrphans("a/1", at(1_000).getTime(), iso(20_000))).toEqual([]);
      expect(await leases.takeOrphans("a/1", at(5_000).getTime(), iso(20_000))).toEqual(["k-2"]);
      expect(await leases.takeOrphans("a/1", at(5_000).getTime(), iso(20_000))).toEqual([]);
      expect(await leases.ownedCounts()).toEqual({ "a/1": 3 });
      // A node that left (a clean stop) has no beat: its kiosks are orphans at once.
      await leases.beat({ nodeId: "gw-c", holder: "c/1", startedAt: iso(0), beatAt: at(20_000).getTime(), connections: 0, deadAfterMs: 15_000 });
      await leases.leave("a/1", at(20_500));
      expect(await leases.takeOrphans("c/1", at(15_000).getTime(), iso(21_000))).toEqual(["k-1", "k-2", "k-3"]);
    });

    it("a reconnect storm's claims: many kiosks in one call, an empty call changes nothing, and two processes claiming overlapping sets in opposite orders both finish", async () => {
      const a = await fresh();
      const b = await harness.another();
      const kioskIds = Array.from({ length: 200 }, (_, i) => `k-${String(i).padStart(3, "0")}`);
      await registered(a, ...kioskIds);
      await a.leases.claimKiosks([], "a/1", iso(0));
      expect(await a.leases.ownedCounts()).toEqual({});
      for (let round = 0; round < 5; round += 1) {
        await Promise.all([a.leases.claimKiosks(kioskIds, "a/1", iso(round)), b.leases.claimKiosks([...kioskIds].reverse(), "b/1", iso(round))]);
      }
      const counts = await a.leases.ownedCounts();
      expect((counts["a/1"] ?? 0) + (counts["b/1"] ?? 0)).toBe(200);
      await b.leases.claimKiosks(kioskIds.slice(0, 150), "b/1", iso(10));
      await a.leases.claimKiosks(kioskIds.slice(100), "a/1", iso(11));
      expect(await a.leases.ownedCounts()).toEqual({ "a/1": 100, "b/1": 100 });
    });

    it("the states of many kiosks in one call are those getHealth gives, in kioskId order, unknown ones left out", async () => {
      const store = await fresh();
      await registered(store, "k-1", "k-2", "k-3");
      await store.health.recordSupervision({ transitions: [{ kioskId: "k-2", from: "never-seen", to: "online", reason: "r", components: ["power"], at: iso(1) }], events: [] });
      const rows = await store.health.getHealthOf(["k-3", "k-2", "nobody", "k-2"]);
      expect(rows).toEqual([await store.health.getHealth("k-2"), await store.health.getHealth("k-3")]);
      expect(rows[0]).toMatchObject({ kioskId: "k-2", state: "online", components: ["power"] });
      expect(await store.health.getHealthOf([])).toEqual([]);
    });

    it("two processes taking orphans at once: each kiosk goes to one", async () => {
      const a = await fresh();
      const b = await harness.another();
      const kioskIds = Array.from({ length: 20 }, (_, i) => `k-${i}`);
      await registered(a, ...kioskIds);
      await a.health.recordSupervision({ transitions: kioskIds.map((kioskId) => ({ kioskId, from: "never-seen" as const, to: "online" as const, reason: "r", components: [], at: iso(1) })), events: [] });
      for (const holder of ["a/1", "b/1"]) await a.leases.beat({ nodeId: holder, holder, startedAt: iso(0), beatAt: at(10_000).getTime(), connections: 0, deadAfterMs: 15_000 });
      const [ta, tb] = await Promise.all([a.leases.takeOrphans("a/1", at(5_000).getTime(), iso(10_000)), b.leases.takeOrphans("b/1", at(5_000).getTime(), iso(10_000))]);
      expect([...ta, ...tb].sort()).toEqual([...kioskIds].sort());
    });

    it("two processes asking at once: exactly one holds it", async () => {
      const a = await fresh();
      const b = await harness.another();
      for (let round = 0; round < 10; round += 1) {
        const name = `job-${round}`;
        const got = await Promise.all([a.leases.acquire(name, "gw-a", at(0), 5_000), b.leases.acquire(name, "gw-b", at(0), 5_000)]);
        expect(got.filter(Boolean)).toHaveLength(1);
      }
    });
  });
}

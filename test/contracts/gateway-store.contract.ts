/**
 * The contract every GatewayStore backend meets (SQLite, PostgreSQL), run unchanged against each from
 * its own test file: `describeGatewayStoreContract("sqlite", harness)`. It covers every method, the
 * transactions that make "stored + queued" one step, dedupe by alertId, conflicts, and the claims
 * that keep two gateway processes on one database from sending the same job at the same time (two
 * store instances on the same database stand for the two processes). The supervision, alarm,
 * security and session sides are in gateway-store-parts.contract.ts.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { copyTables, SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { describeLaterStoreParts } from "./gateway-store-later-parts.contract.js";
import { describeStoreParts } from "./gateway-store-parts.contract.js";
import { at, attempt, claimBy, ids, iso, kiosk, newAlert, registered, T0, type StoreHarness } from "./gateway-store-fixtures.js";

export type { StoreHarness } from "./gateway-store-fixtures.js";

export function describeGatewayStoreContract(name: string, harness: StoreHarness): void {
  describe(`GatewayStore contract: ${name}`, () => {
    let store: GatewayStore;
    const fresh = async (): Promise<GatewayStore> => (store = await harness.fresh());
    afterEach(() => harness.closeAll());
    afterAll(async () => harness.cleanup?.());

    describe("schema", () => {
      it("is at the latest migration, and copyTables names every table with exactly its columns", async () => {
        await fresh();
        expect(await harness.version()).toBe(SCHEMA_VERSION);
        for (const t of copyTables) {
          const columns = (await harness.columns(t.name)).filter((c) => c !== "seq");
          expect({ table: t.name, columns: [...columns].sort() }).toEqual({ table: t.name, columns: [...t.columns].sort() });
        }
      });
    });

    describe("alerts", () => {
      it("stores a new alert and queues it for dispatch in the same call", async () => {
        await fresh();
        const alert = newAlert();
        expect(await store.recordAlert(alert, at(5), '{"body":1}')).toEqual({ outcome: "stored", receivedAt: iso(5), pressCount: 1 });
        expect(await store.getAlert(alert.alertId)).toEqual({
          alertId: alert.alertId, kioskId: alert.kioskId, kind: "sos", pressedAt: alert.pressedAt, receivedAt: iso(5), delivery: "pending",
          attempts: 0, deliveredAt: null, nextAttemptAt: iso(5), lastError: null, pressCount: 1, closedAt: null, outcome: null, closedBy: null,
        });
        expect(await store.claimDispatches(at(5), 10, claimBy("a"))).toEqual([{ alertId: alert.alertId, body: '{"body":1}', attempts: 0 }]);
        expect(await store.getAlert("unknown")).toBeUndefined();
      });

      it("stores a new alert's dispatch job claimed when given a claim: returned to the caller, nobody else takes it within the lease, and a copy is not claimed again", async () => {
        await fresh();
        const alert = newAlert();
        expect(await store.recordAlert(alert, at(5), "body", claimBy("gw-a/1", 5, 10_000))).toEqual({
          outcome: "stored", receivedAt: iso(5), pressCount: 1, job: { alertId: alert.alertId, body: "body", attempts: 0 },
        });
        expect(await store.recordAlert(alert, at(6), "again", claimBy("gw-b/1", 6, 10_000))).toEqual({ outcome: "duplicate", receivedAt: iso(5), pressCount: 1, updated: false });
        expect(await store.claimDispatches(at(9_000), 10, claimBy("gw-b/1", 9_000))).toEqual([]);
        expect(await store.nextDispatchAt({ owner: "gw-b/1" })).toEqual(at(10_005));
        // Its own holder may take it again (its forwarder had no free slot after all)…
        expect(await ids(store.claimDispatches(at(9_000), 10, claimBy("gw-a/1", 9_000)))).toEqual([alert.alertId]);
        // …and once the lease lapses anyone may, the lapsed claim counted as an attempt (it may have been sent).
        expect(await store.claimDispatches(at(60_000), 10, claimBy("gw-b/1", 60_000))).toEqual([{ alertId: alert.alertId, body: "body", attempts: 1 }]);
      });

      it("dedupes by alertId: a copy keeps the first receivedAt and queues nothing; a higher press count is stored", async () => {
        await fresh();
        const alert = newAlert();
        await store.recordAlert(alert, at(0), "first");
        expect(await store.recordAlert(alert, at(1_000), "second")).toEqual({ outcome: "duplicate", receivedAt: iso(0), pressCount: 1, updated: false });
        expect(await store.recordAlert({ ...alert, pressCount: 3, lastPressAt: iso(900) }, at(2_000), "third")).toEqual({ outcome: "duplicate", receivedAt: iso(0), pressCount: 3, updated: true });
        expect(await store.recordAlert({ ...alert, pressCount: 2 }, at(3_000), "fourth")).toEqual({ outcome: "duplicate", receivedAt: iso(0), pressCount: 3, updated: false });
        expect(await store.claimDispatches(at(10_000), 10, claimBy("a"))).toEqual([{ alertId: alert.alertId, body: "first", attempts: 0 }]);
        expect(await store.listAlerts()).toHaveLength(1);
        expect((await store.getAlert(alert.alertId))?.pressCount).toBe(3);
      });

      it("stores one alert once when copies arrive at the same time through two store instances", async () => {
        await fresh();
        const other = await harness.another();
        const alert = newAlert();
        const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 === 0 ? store : other).recordAlert(alert, at(i), `copy-${i}`)));
        expect(results.filter((r) => r.outcome === "stored")).toHaveLength(1);
        expect(results.filter((r) => r.outcome === "duplicate")).toHaveLength(5);
        expect(await store.countByDelivery()).toEqual({ pending: 1, delivered: 0 });
      });

      it("the same alertId from another kiosk is a conflict naming the owner, and nothing is overwritten", async () => {
        await fresh();
        const alert = newAlert("kiosk-a");
        await store.recordAlert(alert, at(0), "a");
        expect(await store.recordAlert({ ...alert, kioskId: "kiosk-b" }, at(1), "b")).toEqual({ outcome: "conflict", ownerKioskId: "kiosk-a" });
        expect((await store.getAlert(alert.alertId))?.kioskId).toBe("kiosk-a");
        expect((await store.claimDispatches(at(10), 10, claimBy("a"))).map((j) => j.body)).toEqual(["a"]);
      });

      it("closes a test alarm as it is stored; lists alerts newest first, open ones however old", async () => {
        await fresh();
        const old = newAlert("k1");
        const test = newAlert("k1", "test");
        const closed = newAlert("k2");
        await store.recordAlert(old, at(0), "x");
        await store.recordAlert(test, at(10), "x");
        await store.recordAlert(closed, at(20), "x");
        expect(await store.getAlert(test.alertId)).toMatchObject({ closedAt: iso(10), outcome: "test", closedBy: "system" });
        await store.closeAlert(closed.alertId, { outcome: "resolved", closedBy: "alice", now: at(30), commandId: "c-1", command: () => "{}" });
        expect((await store.listAlerts()).map((a) => a.alertId)).toEqual([closed.alertId, test.alertId, old.alertId]);
        expect((await store.listAlerts({ limit: 2 })).map((a) => a.alertId)).toEqual([closed.alertId, test.alertId]);
        expect((await store.listAlerts({ open: true, limit: 1 })).map((a) => a.alertId)).toEqual([old.alertId]);
      });

      it("lists every open alert when no limit is given, past the 1 000 of a plain listing (the console's queue drops what is left out)", async () => {
        await fresh();
        const open = Array.from({ length: 1_002 }, (_, i) => newAlert(`k${i}`));
        for (const [i, alert] of open.entries()) await store.recordAlert(alert, at(i), "x");
        const all = await store.listAlerts({ open: true });
        expect(all).toHaveLength(1_002);
        expect(all.at(-1)?.alertId).toBe(open[0]?.alertId);
        expect(await store.listAlerts()).toHaveLength(1_000);
      });
    });

    describe("dispatch outbox", () => {
      it("claims due jobs, SOS alarms before test alarms, each oldest first, up to the limit, skipping busy ones", async () => {
        await fresh();
        const [a, b, c, t] = [newAlert(), newAlert(), newAlert(), newAlert("k", "test")];
        await store.recordAlert(t, at(50), "t");
        await store.recordAlert(b, at(200), "b");
        await store.recordAlert(a, at(100), "a");
        await store.recordAlert(c, at(300), "c");
        expect(await store.claimDispatches(at(49), 10, claimBy("o"))).toEqual([]);
        expect(await ids(store.claimDispatches(at(100), 10, claimBy("o")))).toEqual([a.alertId, t.alertId]);
        expect(await ids(store.claimDispatches(at(300), 10, claimBy("o")))).toEqual([a.alertId, b.alertId, c.alertId, t.alertId]);
        expect(await ids(store.claimDispatches(at(300), 2, claimBy("o")))).toEqual([a.alertId, b.alertId]);
        expect(await ids(store.claimDispatches(at(300), 2, claimBy("o", 0, 30_000, [a.alertId])))).toEqual([b.alertId, c.alertId]);
        expect(await store.nextDispatchAt({ owner: "o", busy: new Set([t.alertId]) })).toEqual(at(100));
        expect(await store.nextDispatchAt({ owner: "o" })).toEqual(at(50));
      });

      it("one kiosk's many alarms do not hold back another's: each kiosk's oldest waiting alarm first, then each one's second, SOS before test alarms", async () => {
        await fresh();
        const flood = [0, 1, 2, 3].map(() => newAlert("kz-flood-0001"));
        for (const [i, f] of flood.entries()) await store.recordAlert(f, at(10 + i), `f${i}`);
        const calm = newAlert("kz-calm-0001");
        const test = newAlert("kz-calm-0002", "test");
        await store.recordAlert(test, at(5), "t");
        await store.recordAlert(calm, at(100), "c");
        const [f0, f1, f2, f3] = flood.map((f) => f.alertId);
        expect(await ids(store.claimDispatches(at(1_000), 2, claimBy("o")))).toEqual([f0, calm.alertId]);
        expect(await ids(store.claimDispatches(at(1_000), 10, claimBy("o", 0, 30_000, [f0 ?? ""])))).toEqual([calm.alertId, f1, f2, f3, test.alertId]);
      });

      it("a claimed job is not claimed by another owner until its lease ends; an attempt's record ends the claim; a delivered job is never claimed", async () => {
        await fresh();
        const other = await harness.another();
        const [a, b] = [newAlert(), newAlert()];
        await store.recordAlert(a, at(0), "a");
        await store.recordAlert(b, at(0), "b");
        expect(await ids(store.claimDispatches(at(0), 1, claimBy("one", 0, 10_000)))).toEqual([a.alertId]);
        expect(await ids(other.claimDispatches(at(0), 10, claimBy("two", 0, 10_000)))).toEqual([b.alertId]);
        expect(await other.claimDispatches(at(9_999), 10, claimBy("three", 9_999))).toEqual([]);
        expect(await other.nextDispatchAt({ owner: "three" })).toEqual(at(10_000));
        // "one" and "two" died: their claims lapse and "three" takes the jobs over. Each may have been
        // sent before its owner died: that counts as an attempt, so the resend is attempt 2.
        expect(await other.claimDispatches(at(10_000), 10, claimBy("three", 10_000))).toEqual([
          { alertId: a.alertId, body: "a", attempts: 1 },
          { alertId: b.alertId, body: "b", attempts: 1 },
        ]);
        await other.recordAttempt(attempt(a.alertId, 2, true, at(10_000)), null);
        await other.recordAttempt(attempt(b.alertId, 2, false, at(10_000)), at(11_000));
        // A recorded attempt ends the claim: the next owner's claim adds nothing.
        expect(await store.claimDispatches(at(11_000), 10, claimBy("four", 11_000))).toEqual([{ alertId: b.alertId, body: "b", attempts: 2 }]);
        expect(await store.claimDispatches(at(11_000), 10, claimBy("four", 11_000))).toEqual([{ alertId: b.alertId, body: "b", attempts: 2 }]);
        expect(await other.nextDispatchAt({ owner: "five" })).toEqual(at(41_000));
        await store.recordAttempt(attempt(b.alertId, 3, true, at(11_000)), null);
        expect(await store.claimDispatches(at(999_999), 10, claimBy("five", 999_999))).toEqual([]);
        expect(await store.nextDispatchAt({ owner: "five" })).toBeNull();
      });

      it("two store instances claiming at the same time never get the same job", async () => {
        await fresh();
        const other = await harness.another();
        const alerts = Array.from({ length: 20 }, () => newAlert());
        for (const [i, alert] of alerts.entries()) await store.recordAlert(alert, at(i), String(i));
        const rounds = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 === 0 ? store : other).claimDispatches(at(100), 5, claimBy(`owner-${i}`, 100))));
        const claimed = rounds.flat().map((j) => j.alertId);
        expect(new Set(claimed).size).toBe(claimed.length);
        expect(claimed.length).toBeGreaterThan(0);
        const rest = await store.claimDispatches(at(100), 100, claimBy("late", 100));
        expect([...claimed, ...rest.map((j) => j.alertId)].sort()).toEqual(alerts.map((a) => a.alertId).sort());
      });

      it("records attempts: a failure reschedules with its error, a success delivers at the attempt's end; every attempt is listed", async () => {
        await fresh();
        const [alert, other] = [newAlert(), newAlert()];
        await store.recordAlert(alert, at(0), "x");
        await store.recordAlert(other, at(0), "y");
        await store.recordAttempt(attempt(alert.alertId, 1, false, at(10)), at(5_000));
        expect(await store.claimDispatches(at(4_999), 10, claimBy("o", 0, 0, [other.alertId]))).toEqual([]);
        expect(await store.claimDispatches(at(5_000), 10, claimBy("o", 0, 0, [other.alertId]))).toEqual([{ alertId: alert.alertId, body: "x", attempts: 1 }]);
        expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "pending", attempts: 1, nextAttemptAt: iso(5_000), lastError: "HTTP 503", deliveredAt: null });
        await store.recordAttempt(attempt(alert.alertId, 2, false, at(5_000), { httpStatus: null, error: "ECONNREFUSED" }), at(6_000));
        await store.recordAttempt(attempt(alert.alertId, 3, true, at(6_000), { durationMs: 35 }), null);
        expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "delivered", attempts: 3, deliveredAt: iso(6_035), nextAttemptAt: null, lastError: null });
        const attempts = await store.attemptsFor(alert.alertId);
        expect(attempts.map((a) => [a.attempt, a.ok])).toEqual([[1, false], [2, false], [3, true]]);
        expect(attempts[1]).toEqual({ alertId: alert.alertId, attempt: 2, startedAt: iso(5_000), durationMs: 20, ok: false, httpStatus: null, error: "ECONNREFUSED" });
        expect(await store.attemptsFor("unknown")).toEqual([]);
        expect(await store.countByDelivery()).toEqual({ pending: 1, delivered: 1 });
        expect(await store.health.pendingDispatchCount()).toBe(1);
        expect(await store.nextDispatchAt({ owner: "o", busy: new Set([other.alertId]) })).toBeNull();
      });
    });

    describe("kiosks", () => {
      it("refuses an existing id unless replace, which keeps createdAt; lists by id", async () => {
        await fresh();
        expect(await store.countByDelivery()).toEqual({ pending: 0, delivered: 0 });
        expect(await store.putKiosk(kiosk("k2", "hash-1"), { replace: false, now: at(0) })).toBe(true);
        expect(await store.putKiosk(kiosk("k2", "hash-2"), { replace: false, now: at(1_000) })).toBe(false);
        expect(await store.getKiosk("k2")).toEqual({ ...kiosk("k2", "hash-1"), createdAt: iso(0), updatedAt: iso(0) });
        const moved = { ...kiosk("k2", "hash-2"), name: null, region: "north", location: { lat: 1.5, lon: -2.25, address: "moved" } };
        expect(await store.putKiosk(moved, { replace: true, now: at(1_000) })).toBe(true);
        expect(await store.getKiosk("k2")).toEqual({ ...moved, createdAt: iso(0), updatedAt: iso(1_000) });
        expect(await store.putKiosk(kiosk("K1"), { replace: true, now: at(0) })).toBe(true);
        expect((await store.listKiosks()).map((k) => k.kioskId)).toEqual(["K1", "k2"]);
        expect(await store.getKiosk("nope")).toBeUndefined();
        // Several at once (a reconnect storm's logins): the registered ones, each once, as getKiosk gives them.
        const many = await store.getKiosks(["k2", "nope", "K1", "k2", "k1"]);
        expect([...many].sort((a, b) => a.kioskId.localeCompare(b.kioskId))).toEqual([await store.getKiosk("K1"), await store.getKiosk("k2")]);
        expect(await store.getKiosks([])).toEqual([]);
      });
    });

    describe("kiosk commands", () => {
      it("closes an alarm and queues its command in one step; a second close and an unknown alert change nothing", async () => {
        await fresh();
        const alert = newAlert("k1");
        await store.recordAlert(alert, at(0), "x");
        const close = { outcome: "resolved", closedBy: "alice", now: at(50), commandId: "c-close", command: (k: string) => `{"kiosk":"${k}"}` };
        expect(await store.closeAlert(alert.alertId, close)).toBe("closed");
        expect(await store.closeAlert(alert.alertId, { ...close, commandId: "c-again" })).toBe("already-closed");
        expect(await store.closeAlert("unknown", { ...close, commandId: "c-unknown" })).toBe("unknown");
        expect(await store.getAlert(alert.alertId)).toMatchObject({ closedAt: iso(50), outcome: "resolved", closedBy: "alice" });
        expect(await store.pendingCommands()).toEqual([{ commandId: "c-close", kioskId: "k1", payload: '{"kiosk":"k1"}', sentCount: 0, lastSentAt: null }]);
      });

      it("claims a command's send once per resend interval across instances unless forced; confirms once, only for its kiosk", async () => {
        await fresh();
        const other = await harness.another();
        await registered(store, "k1", "k2");
        await store.security.queueCommand("k1", "c-1", "{}", T0);
        await store.security.queueCommand("k2", "c-2", "{}", at(1));
        expect((await store.pendingCommands("k2")).map((c) => c.commandId)).toEqual(["c-2"]);
        // Those of several kiosks in one read (a reconnect storm), oldest first; none for none.
        expect((await store.pendingCommands(["k2", "k1", "k9"])).map((c) => c.commandId)).toEqual(["c-1", "c-2"]);
        expect(await store.pendingCommands([])).toEqual([]);
        const sends = await Promise.all([store, other, store].map((s) => s.claimCommandSend("c-1", at(10), { resendMs: 1_000, force: false })));
        expect(sends.filter(Boolean)).toHaveLength(1);
        expect(await other.claimCommandSend("c-1", at(1_009), { resendMs: 1_000, force: false })).toBe(false);
        expect(await other.claimCommandSend("c-1", at(1_010), { resendMs: 1_000, force: false })).toBe(true);
        expect(await store.claimCommandSend("c-1", at(1_011), { resendMs: 1_000, force: true })).toBe(true);
        expect((await store.pendingCommands("k1"))[0]).toMatchObject({ sentCount: 3, lastSentAt: at(1_011).getTime() });
        expect(await store.confirmCommand("c-1", "k2", '{"n":0}', at(10))).toBe("unknown");
        expect(await store.confirmCommand("c-1", "k1", '{"n":1}', at(20))).toBe("confirmed");
        expect(await other.confirmCommand("c-1", "k1", '{"n":2}', at(30))).toBe("again");
        expect(await store.security.getCommand("c-1")).toEqual({ kioskId: "k1", payload: "{}", result: '{"n":1}' });
        expect(await store.confirmCommand("c-404", "k1", "{}", at(40))).toBe("unknown");
        expect(await store.claimCommandSend("c-1", at(5_000), { resendMs: 1_000, force: true })).toBe(false);
        expect((await store.pendingCommands()).map((c) => c.commandId)).toEqual(["c-2"]);
      });
    });

    describe("operators", () => {
      it("adds, refuses a duplicate unless replacing (which ends its sessions), lists and removes with its sessions", async () => {
        await fresh();
        const session = (idHash: string, operator: string) => ({ idHash, tokenHash: `t-${idHash}`, operator, role: "operator" as const, clientId: `c-${idHash}`, createdAt: iso(0), expiresAt: at(3_600_000).getTime() });
        expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$1", role: "admin" }, { replace: false, now: T0 })).toBe(true);
        expect(await store.putOperator({ name: "alice", passwordHash: "scrypt$2" }, { replace: false, now: T0 })).toBe(true);
        expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$3" }, { replace: false, now: T0 })).toBe(false);
        await store.sessions.put(session("s1", "bob"));
        await store.sessions.put(session("s2", "alice"));
        expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$3" }, { replace: true, now: at(1_000) })).toBe(true);
        expect(await store.getOperator("bob")).toEqual({ name: "bob", passwordHash: "scrypt$3", role: "operator", createdAt: iso(0) });
        expect((await store.sessions.loadLive(T0)).map((s) => s.idHash)).toEqual(["s2"]);
        expect((await store.listOperators()).map((o) => [o.name, o.role])).toEqual([["alice", "operator"], ["bob", "operator"]]);
        expect(await store.removeOperator("alice")).toBe(true);
        expect(await store.removeOperator("alice")).toBe(false);
        expect(await store.sessions.loadLive(T0)).toEqual([]);
        expect(await store.getOperator("alice")).toBeUndefined();
      });
    });

    describe("rejected messages", () => {
      it("keeps the newest 200 of each kiosk (and of unknown senders), newest first", async () => {
        await fresh();
        const reject = (kioskId: string | null, n: number) => ({ kioskId, topic: `sos/v1/kiosks/${kioskId ?? "?"}/alerts`, receivedAt: iso(n), code: "PAYLOAD_NOT_JSON", reason: `bad ${n}`, excerpt: "{" });
        for (let n = 0; n < 203; n += 1) await store.recordRejected(reject("k1", n));
        await store.recordRejected(reject(null, 500));
        await store.recordRejected(reject("k2", 501));
        const all = await store.listRejected(1_000);
        expect(all).toHaveLength(202);
        expect(all.slice(0, 3).map((r) => r.reason)).toEqual(["bad 501", "bad 500", "bad 202"]);
        expect(all.at(-1)).toEqual(reject("k1", 3));
        expect(await store.listRejected(1)).toEqual([reject("k2", 501)]);
      });
    });

    describeStoreParts(harness, () => store, fresh);
    describeLaterStoreParts(harness, fresh);
  });
}

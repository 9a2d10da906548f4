import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STORE_FILE, SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { AttemptRecord } from "../../gateway/store/store.js";
import type { Alert } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";

const T0 = new Date("2025-01-02T03:00:00.000Z");
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const none: ReadonlySet<string> = new Set();

let seq = 0;
function newAlert(kioskId = "kz-hwy-0001", kind: Alert["kind"] = "sos"): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId,
    kind,
    pressedAt: T0.toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  };
}

function attempt(alertId: string, n: number, ok: boolean, startedAt: Date, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    alertId,
    attempt: n,
    startedAt: startedAt.toISOString(),
    durationMs: 20,
    ok,
    httpStatus: ok ? 200 : 503,
    error: ok ? null : "HTTP 503",
    ...extra,
  };
}

const kiosk = (kioskId: string, secretHash = "scrypt$hash-1") => ({
  kioskId,
  secretHash,
  name: "Km 12",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
});

describe("SqliteStore", () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-store-"));
    store = SqliteStore.open(join(dir, "gw"));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("recordAlert", () => {
    it("stores a new alert and queues it for dispatch in the same call", async () => {
      const alert = newAlert();
      expect(await store.recordAlert(alert, at(5), "{\"body\":1}")).toEqual({ outcome: "stored", receivedAt: at(5).toISOString(), pressCount: 1 });
      expect(await store.getAlert(alert.alertId)).toEqual({
        alertId: alert.alertId,
        kioskId: alert.kioskId,
        kind: "sos",
        pressedAt: alert.pressedAt,
        receivedAt: at(5).toISOString(),
        delivery: "pending",
        attempts: 0,
        deliveredAt: null,
        nextAttemptAt: at(5).toISOString(),
        lastError: null,
        pressCount: 1,
        closedAt: null,
        outcome: null,
        closedBy: null,
      });
      expect(await store.claimDispatches(at(5), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([{ alertId: alert.alertId, body: "{\"body\":1}", attempts: 0 }]);
    });

    it("the same alert from the same kiosk again is a duplicate that keeps the first receivedAt and queues nothing new", async () => {
      const alert = newAlert();
      await store.recordAlert(alert, at(0), "first");
      expect(await store.recordAlert(alert, at(1_000), "second")).toEqual({ outcome: "duplicate", receivedAt: at(0).toISOString(), pressCount: 1, updated: false });
      expect(await store.claimDispatches(at(10_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([{ alertId: alert.alertId, body: "first", attempts: 0 }]);
      expect(await store.listAlerts()).toHaveLength(1);
    });

    it("the same alertId from another kiosk is a conflict naming the owner, and nothing is overwritten", async () => {
      const alert = newAlert("kiosk-a");
      await store.recordAlert(alert, at(0), "a");
      expect(await store.recordAlert({ ...alert, kioskId: "kiosk-b" }, at(1), "b")).toEqual({ outcome: "conflict", ownerKioskId: "kiosk-a" });
      expect((await store.getAlert(alert.alertId))?.kioskId).toBe("kiosk-a");
      expect((await store.claimDispatches(at(10), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.body)).toEqual(["a"]);
    });
  });

  describe("dueDispatches", () => {
    it("returns only jobs whose next attempt is due, oldest first, up to the limit", async () => {
      const a = newAlert();
      const b = newAlert();
      const c = newAlert();
      await store.recordAlert(b, at(200), "b");
      await store.recordAlert(a, at(100), "a");
      await store.recordAlert(c, at(300), "c");
      expect(await store.claimDispatches(at(99), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([]);
      expect((await store.claimDispatches(at(100), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.alertId)).toEqual([a.alertId]);
      expect((await store.claimDispatches(at(250), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.alertId)).toEqual([a.alertId, b.alertId]);
      expect((await store.claimDispatches(at(300), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.alertId)).toEqual([a.alertId, b.alertId, c.alertId]);
      expect((await store.claimDispatches(at(300), 2, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.alertId)).toEqual([a.alertId, b.alertId]);
    });

    it("skips jobs in the busy set and still fills the limit from the others", async () => {
      const alerts = [newAlert(), newAlert(), newAlert(), newAlert()];
      for (const [i, alert] of alerts.entries()) await store.recordAlert(alert, at(i), String(i));
      const busy = new Set([alerts[0]!.alertId, alerts[1]!.alertId]);
      expect((await store.claimDispatches(at(10), 2, { owner: "test", now: new Date(0), leaseMs: 0, busy: busy })).map((j) => j.alertId)).toEqual([alerts[2]!.alertId, alerts[3]!.alertId]);
      expect(await store.nextDispatchAt({ owner: "test", busy: busy })).toEqual(at(2));
      expect(await store.nextDispatchAt({ owner: "test", busy: none })).toEqual(at(0));
    });

    it("nextDispatchAt is null when nothing is pending", async () => {
      expect(await store.nextDispatchAt({ owner: "test", busy: none })).toBeNull();
      const alert = newAlert();
      await store.recordAlert(alert, at(0), "x");
      expect(await store.nextDispatchAt({ owner: "test", busy: new Set([alert.alertId]) })).toBeNull();
    });
  });

  describe("recordAttempt", () => {
    it("a failure reschedules the job to nextAttemptAt and records the error", async () => {
      const alert = newAlert();
      await store.recordAlert(alert, at(0), "x");
      await store.recordAttempt(attempt(alert.alertId, 1, false, at(10)), at(5_000));
      expect(await store.claimDispatches(at(4_999), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([]);
      expect(await store.claimDispatches(at(5_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([{ alertId: alert.alertId, body: "x", attempts: 1 }]);
      expect(await store.nextDispatchAt({ owner: "test", busy: none })).toEqual(at(5_000));
      expect(await store.getAlert(alert.alertId)).toMatchObject({
        delivery: "pending",
        attempts: 1,
        nextAttemptAt: at(5_000).toISOString(),
        lastError: "HTTP 503",
        deliveredAt: null,
      });
    });

    it("a success marks the alert delivered at the end of the attempt and takes it out of the queue", async () => {
      const alert = newAlert();
      await store.recordAlert(alert, at(0), "x");
      await store.recordAttempt(attempt(alert.alertId, 1, false, at(10)), at(1_000));
      await store.recordAttempt(attempt(alert.alertId, 2, true, at(1_000), { durationMs: 35 }), null);
      expect(await store.getAlert(alert.alertId)).toMatchObject({
        delivery: "delivered",
        attempts: 2,
        deliveredAt: at(1_035).toISOString(),
        nextAttemptAt: null,
        lastError: null,
      });
      expect(await store.claimDispatches(at(1_000_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([]);
      expect(await store.nextDispatchAt({ owner: "test", busy: none })).toBeNull();
    });

    it("attemptsFor lists every attempt in attempt order", async () => {
      const alert = newAlert();
      const other = newAlert();
      await store.recordAlert(alert, at(0), "x");
      await store.recordAlert(other, at(0), "y");
      await store.recordAttempt(attempt(alert.alertId, 1, false, at(0)), at(100));
      await store.recordAttempt(attempt(other.alertId, 1, true, at(0)), null);
      await store.recordAttempt(attempt(alert.alertId, 2, false, at(100), { httpStatus: null, error: "ECONNREFUSED" }), at(300));
      await store.recordAttempt(attempt(alert.alertId, 3, true, at(300)), null);
      const attempts = await store.attemptsFor(alert.alertId);
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(attempts[1]).toEqual({
        alertId: alert.alertId,
        attempt: 2,
        startedAt: at(100).toISOString(),
        durationMs: 20,
        ok: false,
        httpStatus: null,
        error: "ECONNREFUSED",
      });
      expect(attempts.map((a) => a.ok)).toEqual([false, false, true]);
      expect(await store.attemptsFor("unknown")).toEqual([]);
    });
  });

  it("countByDelivery counts pending and delivered alerts, zero when empty", async () => {
    expect(await store.countByDelivery()).toEqual({ pending: 0, delivered: 0 });
    const alerts = [newAlert(), newAlert(), newAlert()];
    for (const alert of alerts) await store.recordAlert(alert, at(0), "x");
    await store.recordAttempt(attempt(alerts[1]!.alertId, 1, true, at(0)), null);
    expect(await store.countByDelivery()).toEqual({ pending: 2, delivered: 1 });
  });

  describe("putKiosk", () => {
    it("refuses an existing id unless replace, and keeps the first registration", async () => {
      expect(await store.putKiosk(kiosk("k1", "hash-1"), { replace: false, now: at(0) })).toBe(true);
      expect(await store.putKiosk(kiosk("k1", "hash-2"), { replace: false, now: at(1_000) })).toBe(false);
      expect(await store.getKiosk("k1")).toEqual({ ...kiosk("k1", "hash-1"), createdAt: at(0).toISOString(), updatedAt: at(0).toISOString() });
    });

    it("with replace overwrites the secret and location but keeps createdAt", async () => {
      await store.putKiosk(kiosk("k1", "hash-1"), { replace: false, now: at(0) });
      const moved = { ...kiosk("k1", "hash-2"), name: null, location: { lat: 1, lon: 2, address: "moved" } };
      expect(await store.putKiosk(moved, { replace: true, now: at(1_000) })).toBe(true);
      expect(await store.getKiosk("k1")).toEqual({ ...moved, createdAt: at(0).toISOString(), updatedAt: at(1_000).toISOString() });
    });

    it("with replace also registers a new id", async () => {
      expect(await store.putKiosk(kiosk("k2"), { replace: true, now: at(0) })).toBe(true);
      expect((await store.listKiosks()).map((k) => k.kioskId)).toEqual(["k2"]);
      expect(await store.getKiosk("nope")).toBeUndefined();
    });
  });

  describe("opening", () => {
    it("a readonly open of a missing dir fails with STORE_UNAVAILABLE and a one-line message naming the path", () => {
      const missing = join(dir, "does", "not", "exist");
      let caught: unknown;
      try {
        SqliteStore.open(missing, { readonly: true });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SosError);
      const err = caught as SosError;
      expect(err.code).toBe(ErrorCode.StoreUnavailable);
      expect(err.message).not.toContain("\n");
      expect(err.message).toContain(join(missing, STORE_FILE));
      expect(err.message).toContain("--data-dir");
    });

    it("a readonly open of a dir without gateway.db fails with STORE_UNAVAILABLE and creates nothing", () => {
      const empty = join(dir, "empty");
      mkdirSync(empty);
      expect(() => SqliteStore.open(empty, { readonly: true })).toThrow(expect.objectContaining({ code: ErrorCode.StoreUnavailable }) as Error);
      expect(readdirSync(empty)).toEqual([]);
    });

    it("reopening the file keeps every alert, attempt and kiosk (durability)", async () => {
      const alert = newAlert();
      await store.putKiosk(kiosk("k1"), { replace: false, now: at(0) });
      await store.recordAlert(alert, at(0), "x");
      await store.recordAttempt(attempt(alert.alertId, 1, false, at(0)), at(100));
      await store.recordRejected({ kioskId: "k1", topic: "sos/v1/kiosks/k1/alerts", receivedAt: at(0).toISOString(), code: "PAYLOAD_NOT_JSON", reason: "bad", excerpt: "{" });
      await store.close();

      store = SqliteStore.open(join(dir, "gw"));
      expect(await store.getKiosk("k1")).toMatchObject({ kioskId: "k1" });
      expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "pending", attempts: 1, nextAttemptAt: at(100).toISOString() });
      expect(await store.attemptsFor(alert.alertId)).toHaveLength(1);
      expect(await store.listRejected(10)).toHaveLength(1);

      const readonly = SqliteStore.open(join(dir, "gw"), { readonly: true });
      try {
        expect((await readonly.listAlerts()).map((a) => a.alertId)).toEqual([alert.alertId]);
      } finally {
        await readonly.close();
      }
    });
  });

  it("confirms a kiosk command once: a repeated result is 'again' and keeps the first; another kiosk's or an unknown command is 'unknown'", async () => {
    await store.putKiosk(kiosk("k1"), { replace: false, now: T0 });
    await store.security.queueCommand("k1", "c-1", "{}", T0);
    expect(await store.confirmCommand("c-1", "k2", '{"n":0}', at(10))).toBe("unknown");
    expect(await store.confirmCommand("c-1", "k1", '{"n":1}', at(20))).toBe("confirmed");
    expect(await store.confirmCommand("c-1", "k1", '{"n":2}', at(30))).toBe("again");
    expect(await store.security.getCommand("c-1")).toMatchObject({ result: '{"n":1}' });
    expect(await store.confirmCommand("c-404", "k1", "{}", at(40))).toBe("unknown");
  });
});


import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import type { TransitionRecord } from "../../gateway/store/health-store.js";
import type { Alert } from "../../shared/contract.js";
import type { KioskStateName } from "../../shared/ops.js";
import { registerKiosks } from "./supervision-rig.js";

const T0 = new Date("2025-03-01T12:00:00.000Z");
const at = (s: number): string => new Date(T0.getTime() + s * 1_000).toISOString();

function testAlert(n: number, kioskId: string, kind: "sos" | "test"): Alert {
  return { v: 1, alertId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, kioskId, kind, pressedAt: T0.toISOString(), location: { lat: 1, lon: 2, address: "x" } };
}

describe("the supervision tables (migration 4)", () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-health-store-"));
    store = SqliteStore.open(dir);
    await registerKiosks(store, "k-1", "k-2");
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every registered kiosk: no state until a first transition, the last test alert from the alerts", async () => {
    await store.recordAlert(testAlert(1, "k-1", "test"), new Date(at(10)), "{}");
    await store.recordAlert(testAlert(2, "k-1", "test"), new Date(at(20)), "{}");
    await store.recordAlert(testAlert(3, "k-1", "sos"), new Date(at(30)), "{}");
    const rows = await store.health.listHealth();
    expect(rows.map((r) => [r.kioskId, r.state, r.lastTestAlertAt, r.lastHeartbeatAt, r.report])).toEqual([
      ["k-1", null, at(20), null, null],
      ["k-2", null, null, null, null],
    ]);
  });

  it("sends one kiosk's operations events in the order they were queued: a later one waits while an earlier one is undelivered", async () => {
    const ev = (eventId: string, kioskId: string, s: number) => ({ eventId, kioskId, type: "transition" as const, body: `{"id":"${eventId}"}`, createdAt: at(s) });
    await store.health.recordSupervision({ transitions: [], events: [ev("z-offline", "k-1", 1), ev("a-online", "k-1", 2), ev("m-other", "k-2", 2)] });
    // The first k-1 event failed and backed off past the second one's due time.
    await store.health.recordOpsAttempt({ id: "z-offline", attempt: 1, startedAt: at(1), durationMs: 5, ok: false, httpStatus: 503, error: "HTTP 503" }, new Date(at(60)));
    const due = async (s: number, busy: string[] = []): Promise<string[]> => (await store.health.claimOps(new Date(at(s)), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: new Set(busy) })).map((j) => j.id);
    expect(await due(30)).toEqual(["m-other"]); // k-2 is not held up by k-1
    expect(await store.health.nextOpsAt({ owner: "test", busy: new Set(["m-other"]) })).toEqual(new Date(at(60)));
    expect(await due(60)).toEqual(["m-other", "z-offline"]); // by due time across kiosks
    expect(await due(60, ["z-offline"])).toEqual(["m-other"]); // in flight: its successor still waits
    await store.health.recordOpsAttempt({ id: "z-offline", attempt: 2, startedAt: at(60), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
    expect(await due(60)).toEqual(["a-online", "m-other"]);
  });

  it("prunes delivered operations events and transitions older than the history window, keeping each kiosk's newest transition and anything undelivered", async () => {
    const t = (kioskId: string, from: KioskStateName, to: KioskStateName, s: number): TransitionRecord => ({ kioskId, from, to, reason: "heartbeat", components: [], at: at(s) });
    const ev = (eventId: string, s: number) => ({ eventId, kioskId: "k-1", type: "transition" as const, body: "{}", createdAt: at(s) });
    await store.health.recordSupervision({
      transitions: [t("k-1", "never-seen", "online", 1), t("k-1", "online", "offline", 2), t("k-2", "never-seen", "online", 3), t("k-1", "offline", "online", 100)],
      events: [ev("old-delivered", 1), ev("old-pending", 2), ev("new-delivered", 100)],
    });
    await store.health.recordOpsAttempt({ id: "old-delivered", attempt: 1, startedAt: at(1), durationMs: 1, ok: true, httpStatus: 200, error: null }, null);
    await store.health.recordOpsAttempt({ id: "new-delivered", attempt: 1, startedAt: at(100), durationMs: 1, ok: true, httpStatus: 200, error: null }, null);
    expect(await store.health.pruneHistory(new Date(at(50)))).toEqual({ opsEvents: 1, transitions: 2, testAlerts: 0, rejected: 0 });
    expect((await store.health.listOps(10)).map((o) => o.eventId).sort()).toEqual(["new-delivered", "old-pending"]);
    expect((await store.health.transitions("k-1", 10)).map((r) => r.at)).toEqual([at(100)]);
    expect((await store.health.transitions("k-2", 10)).map((r) => r.at)).toEqual([at(3)]); // its only one: kept
  });

  it("prunes old delivered test alarms with their attempts, keeping each kiosk's newest test alarm, undelivered ones and every SOS alarm", async () => {
    const delivered = async (n: number, kioskId: string, kind: "sos" | "test", s: number): Promise<string> => {
      const alert = testAlert(n, kioskId, kind);
      await store.recordAlert(alert, new Date(at(s)), "{}");
      await store.recordAttempt({ alertId: alert.alertId, attempt: 1, startedAt: at(s), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
      return alert.alertId;
    };
    const oldTest = await delivered(11, "k-1", "test", 1);
    const oldSos = await delivered(12, "k-1", "sos", 2);
    const newestTest = await delivered(13, "k-1", "test", 3);
    const olderTestOfK2 = await delivered(14, "k-2", "test", 4);
    const pending = testAlert(15, "k-2", "test");
    await store.recordAlert(pending, new Date(at(5)), "{}");
    expect(await store.health.pruneHistory(new Date(at(50)))).toEqual({ opsEvents: 0, transitions: 0, testAlerts: 2, rejected: 0 });
    for (const gone of [oldTest, olderTestOfK2]) {
      expect(await store.getAlert(gone)).toBeUndefined();
      expect(await store.attemptsFor(gone)).toEqual([]);
    }
    for (const kept of [oldSos, newestTest, pending.alertId]) expect(await store.getAlert(kept)).toBeDefined();
    expect((await store.health.getHealth("k-1"))?.lastTestAlertAt).toBe(at(3));
  });

  it("keeps `since` while the state stays (degraded → degraded), sets first_seen_at once, and queues ops events with the transitions", async () => {
    const t = (from: KioskStateName, to: KioskStateName, s: number, components: string[] = []): TransitionRecord => ({ kioskId: "k-1", from, to, reason: "heartbeat", components, at: at(s) });
    await store.health.recordSupervision({
      transitions: [t("never-seen", "online", 1), t("online", "degraded", 2, ["tamper"]), t("degraded", "degraded", 3, ["power", "tamper"])],
      events: [{ eventId: "e-1", kioskId: "k-1", type: "transition", body: "{}", createdAt: at(3) }],
    });
    expect(await store.health.getHealth("k-1")).toMatchObject({ state: "degraded", since: at(2), components: ["power", "tamper"], firstSeenAt: at(1) });
    await store.health.recordSupervision({ transitions: [t("degraded", "offline", 4), t("offline", "online", 5)], events: [] });
    expect(await store.health.getHealth("k-1")).toMatchObject({ state: "online", since: at(5), components: [], firstSeenAt: at(1) });
    expect((await store.health.transitions("k-1", 2)).map((r) => r.to)).toEqual(["online", "offline"]);
    expect(await store.health.pendingOpsCount()).toBe(1);
    expect(await store.health.claimOps(new Date(at(2)), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: new Set() })).toEqual([]);
    expect(await store.health.claimOps(new Date(at(3)), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: new Set() })).toEqual([{ id: "e-1", body: "{}", attempts: 0 }]);
    await store.health.recordOpsAttempt({ id: "e-1", attempt: 1, startedAt: at(3), durationMs: 5, ok: false, httpStatus: 503, error: "HTTP 503" }, new Date(at(9)));
    expect(await store.health.nextOpsAt({ owner: "test", busy: new Set() })).toEqual(new Date(at(9)));
    await store.health.recordOpsAttempt({ id: "e-1", attempt: 2, startedAt: at(9), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
    expect(await store.health.pendingOpsCount()).toBe(0);
    expect(await store.health.listOps(5)).toMatchObject([{ eventId: "e-1", attempts: 2, lastError: null }]);
  });

  it("decommissions in the registry and reports registry changes since a mark", async () => {
    const all = await store.health.registryChangedSince(null);
    const mark = all.at(-1)?.updatedAt ?? null;
    expect(await store.health.setDecommissioned("k-2", true, new Date(Date.now() + 1_000))).toBe(true);
    expect(await store.health.setDecommissioned("nope", true, new Date())).toBe(false);
    const changes = await store.health.registryChangedSince(mark);
    expect(changes.at(-1)).toMatchObject({ kioskId: "k-2", decommissionedAt: expect.any(String) as string });
    await store.health.setDecommissioned("k-2", false, new Date(Date.now() + 2_000));
    expect((await store.health.getHealth("k-2"))?.decommissionedAt).toBeNull();
  });

  it("upgrades a version-3 store: its kiosks gain no state (never seen) and keep their test alerts", async () => {
    await store.recordAlert(testAlert(1, "k-2", "test"), new Date(at(10)), "{}");
    await store.close();
    const db = new Database(join(dir, STORE_FILE));
    db.exec("ALTER TABLE alerts DROP COLUMN acknowledged_at; ALTER TABLE dispatch_outbox DROP COLUMN claimed_by; ALTER TABLE dispatch_outbox DROP COLUMN claim_until;");
    db.exec("DROP TABLE cluster_stopped; DROP TABLE release_chunks; DROP TABLE releases; DROP TABLE release_rollouts; DROP TABLE kiosk_owners; DROP TABLE cluster_nodes; DROP TABLE leases; DROP TABLE kiosk_sms_keys; DROP TABLE sms_arrivals; DROP TABLE dispatch_updates; DROP TABLE operator_sessions; DROP TABLE alert_events; DROP TABLE escalation_outbox; ALTER TABLE kiosks DROP COLUMN region;");
    db.exec(`DROP TABLE kiosk_health; DROP TABLE kiosk_heartbeats; DROP TABLE kiosk_transitions; DROP TABLE ops_outbox;
      DROP INDEX kiosks_by_update; DROP INDEX alerts_test_by_kiosk; ALTER TABLE kiosks DROP COLUMN decommissioned_at;
      DROP TABLE kiosk_certificates; DROP TABLE revocations; DROP TABLE enrolment_tokens; ALTER TABLE operators DROP COLUMN role;`);
    db.pragma("user_version = 3");
    db.close();
    store = SqliteStore.open(dir);
    expect((await store.health.listHealth()).map((r) => [r.kioskId, r.state, r.decommissionedAt, r.lastTestAlertAt])).toEqual([
      ["k-1", null, null, null],
      ["k-2", null, null, at(10)],
    ]);
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ALL_CALL_UP_FILTER, decidePublish, decideSubscribe, type Principal } from "../../gateway/broker/acl.js";
import { FailedLoginLimiter } from "../../gateway/operators/limiter.js";
import { isOperatorClientId, operatorNameFromUsername } from "../../gateway/operators/names.js";
import { SessionStore } from "../../gateway/operators/sessions.js";
import { SnapshotLinks } from "../../gateway/snapshots/links.js";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import { type TopicName, topicFor, topics } from "../../shared/contract.js";
import { FakeClock } from "../fixtures/fake-clock.js";

const operator: Principal = { role: "operator", name: "alice" };
const kiosk: Principal = { role: "kiosk", kioskId: "kz-hwy-0001" };
const names = Object.keys(topics) as TopicName[];

describe("operator ACL", () => {
  it("may subscribe to every kiosk's call/up (wildcard or one kiosk) and the operator alarms, and nothing else", () => {
    for (const filter of [ALL_CALL_UP_FILTER, OPERATOR_ALARMS_TOPIC, topicFor("callUp", "kz-hwy-0002")]) {
      expect(decideSubscribe(operator, filter), filter).toEqual({ allow: true });
    }
    const refused = [
      "#",
      "sos/#",
      "sos/v1/kiosks/#",
      "sos/v1/kiosks/+/+",
      "sos/v1/kiosks/+/call/#",
      "sos/v1/operators/+",
      "$SYS/#",
      ...names.filter((n) => n !== "callUp").map((n) => topicFor(n, "kz-hwy-0002")),
      ...names.filter((n) => n !== "callUp").map((n) => `sos/v1/kiosks/+/${topics[n].suffix}`),
    ];
    for (const filter of refused) expect(decideSubscribe(operator, filter).allow, filter).toBe(false);
  });

  it("may publish only on a kiosk's call/down", () => {
    expect(decidePublish(operator, topicFor("callDown", "kz-hwy-0002"))).toEqual({ allow: true });
    for (const name of names.filter((n) => n !== "callDown")) expect(decidePublish(operator, topicFor(name, "kz-hwy-0002")).allow, name).toBe(false);
    for (const topic of [OPERATOR_ALARMS_TOPIC, "sos/v1/kiosks/+/call/down", "other", "sos/v1/kiosks/kz-hwy-0002/call/down/x"]) {
      expect(decidePublish(operator, topic).allow, topic).toBe(false);
    }
  });

  it("lets kiosks use their own call and snapshot topics, and never the operators' topic", () => {
    for (const name of ["callUp", "snapshot"] as const) expect(decidePublish(kiosk, topicFor(name, "kz-hwy-0001"))).toEqual({ allow: true });
    expect(decideSubscribe(kiosk, topicFor("callDown", "kz-hwy-0001"))).toEqual({ allow: true });
    expect(decidePublish(kiosk, topicFor("callDown", "kz-hwy-0001")).allow).toBe(false);
    expect(decideSubscribe(kiosk, topicFor("callUp", "kz-hwy-0002")).allow).toBe(false);
    expect(decideSubscribe(kiosk, OPERATOR_ALARMS_TOPIC).allow).toBe(false);
    expect(decidePublish(kiosk, OPERATOR_ALARMS_TOPIC).allow).toBe(false);
  });
});

describe("operator names", () => {
  it("reads operator:NAME usernames and checks client ids", () => {
    expect(operatorNameFromUsername("operator:alice")).toBe("alice");
    for (const u of ["alice", "operator:", "operator:Alice", "operator:a:b", "operator:../x", "kz-hwy-0001"]) expect(operatorNameFromUsername(u), u).toBeNull();
    expect(isOperatorClientId("operator:alice", "alice")).toBe(true);
    expect(isOperatorClientId("operator:alice:0a1b2c", "alice")).toBe(true);
    for (const id of ["operator:alice2", "operator:bob", "kz-hwy-0001", "operator:alice:", "operator:alice:a/b", "operator:alice:x:y"]) {
      expect(isOperatorClientId(id, "alice"), id).toBe(false);
    }
  });
});

describe("FailedLoginLimiter", () => {
  it("blocks an address after N failures within a minute, per address, and lets it try again after the window", () => {
    const clock = new FakeClock();
    const limiter = new FailedLoginLimiter(3, 60_000, clock);
    for (let i = 0; i < 3; i += 1) {
      expect(limiter.retryAfterMs("10.0.0.1")).toBe(0);
      limiter.fail("10.0.0.1");
      clock.ms += 1_000;
    }
    expect(limiter.retryAfterMs("10.0.0.1")).toBe(57_000);
    expect(limiter.retryAfterMs("10.0.0.2")).toBe(0);
    clock.ms += 57_000;
    expect(limiter.retryAfterMs("10.0.0.1")).toBe(0);
  });

  it("forgives an attempt that succeeded", () => {
    const limiter = new FailedLoginLimiter(2, 60_000, new FakeClock());
    limiter.fail("a");
    limiter.fail("a");
    expect(limiter.retryAfterMs("a")).toBeGreaterThan(0);
    limiter.forgive("a");
    expect(limiter.retryAfterMs("a")).toBe(0);
  });
});

describe("SessionStore", () => {
  it("finds a session by its id until it expires; its MQTT token is valid for its operator only", () => {
    const clock = new FakeClock();
    const sessions = new SessionStore(60_000, clock);
    const { id, session } = sessions.create("alice", "operator:alice:1");
    expect(sessions.get(id)).toBe(session);
    expect(sessions.get(`${id}x`)).toBeUndefined();
    expect(sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(true);
    expect(sessions.mqttTokenValid("bob", session.mqttToken, session.clientId)).toBe(false);
    expect(sessions.mqttTokenValid("alice", id, session.clientId)).toBe(false);
    // Bound to its session's client id: the token opens no second connection under another id.
    expect(sessions.mqttTokenValid("alice", session.mqttToken, "operator:alice:2")).toBe(false);
    expect(sessions.mqttTokenValid("alice", session.mqttToken, "operator:alice")).toBe(false);
    clock.ms += 60_000;
    expect(sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(false);
    expect(sessions.get(id)).toBeUndefined();
  });

  it("ends expired sessions when asked (the gateway asks every second), telling onEnded, so their pages' connections close on time", () => {
    const clock = new FakeClock();
    const sessions = new SessionStore(60_000, clock);
    const ended: [string[], string][] = [];
    sessions.onEnded((records, why) => ended.push([records.map((r) => r.clientId), why]));
    sessions.create("alice", "operator:alice:1");
    clock.ms += 30_000;
    sessions.create("bob", "operator:bob:1");
    expect(sessions.endExpired()).toBe(0);
    clock.ms += 30_000;
    expect(sessions.endExpired()).toBe(1);
    expect(ended).toEqual([[["operator:alice:1"], "expired"]]);
    expect(sessions.size).toBe(1);
  });

  it("forgets a deleted session and its token", () => {
    const sessions = new SessionStore(60_000, new FakeClock());
    const { id, session } = sessions.create("alice", "operator:alice:1");
    expect(sessions.delete(id)).toBe(true);
    expect(sessions.get(id)).toBeUndefined();
    expect(sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(false);
    expect(sessions.size).toBe(0);
  });
});

describe("SnapshotLinks", () => {
  it("signs each alert's link with a token that fits that alert only, stable across instances", () => {
    const a = new SnapshotLinks("a-dispatch-secret-0123456789", "https://gw.example/");
    const url = new URL(a.dispatchUrl("6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d") ?? "");
    expect(url.pathname).toBe("/api/alerts/6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d/snapshot.jpg");
    const token = url.searchParams.get("token") ?? "";
    const b = new SnapshotLinks("a-dispatch-secret-0123456789", undefined);
    expect(b.tokenValid("6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d", token)).toBe(true);
    expect(b.tokenValid("00000000-3d4a-4f5b-9c6d-7e8f9a0b1c2d", token)).toBe(false);
    expect(new SnapshotLinks("another-secret-0123456789", undefined).tokenValid("6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d", token)).toBe(false);
    expect(new SnapshotLinks(undefined, undefined).dispatchUrl("x")).toBeUndefined();
  });
});

describe("operators in the store (migration 3)", () => {
  it("adds, refuses a duplicate unless replacing, and lists operators; migrates a version-2 store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sos-ops-"));
    try {
      const store = SqliteStore.open(dir);
      const now = new Date("2025-01-02T03:00:00.000Z");
      expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$1" }, { replace: false, now })).toBe(true);
      expect(await store.putOperator({ name: "alice", passwordHash: "scrypt$2" }, { replace: false, now })).toBe(true);
      expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$3" }, { replace: false, now })).toBe(false);
      expect((await store.getOperator("bob"))?.passwordHash).toBe("scrypt$1");
      expect(await store.putOperator({ name: "bob", passwordHash: "scrypt$3" }, { replace: true, now: new Date(now.getTime() + 1_000) })).toBe(true);
      expect(await store.getOperator("bob")).toEqual({ name: "bob", passwordHash: "scrypt$3", role: "operator", createdAt: now.toISOString() });
      expect((await store.listOperators()).map((o) => o.name)).toEqual(["alice", "bob"]);
      expect(await store.getOperator("carol")).toBeUndefined();
      await store.close();
      // A store as version 2 left it (no operators table) gains the table when opened.
      const db = new Database(join(dir, STORE_FILE));
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      // Without what migrations 21 (acknowledged_at) and 13 (claims) added…
      db.exec("ALTER TABLE alerts DROP COLUMN acknowledged_at; ALTER TABLE dispatch_outbox DROP COLUMN claimed_by; ALTER TABLE dispatch_outbox DROP COLUMN claim_until;");
      // … without what migrations 17 (releases), 16 (owners), 14 (leases, and 15 the nodes), 11 (SMS), 10 (EIDO updates) and 8 (operator sessions) added…
      db.exec("DROP TABLE cluster_stopped; DROP TABLE release_chunks; DROP TABLE releases; DROP TABLE release_rollouts; DROP TABLE kiosk_owners; DROP TABLE cluster_nodes; DROP TABLE leases; DROP TABLE kiosk_sms_keys; DROP TABLE sms_arrivals; DROP TABLE dispatch_updates; DROP TABLE operator_sessions;");
      // … without what migration 6 (alarm lifecycle) added…
      db.exec("DROP TABLE alert_events; DROP TABLE escalation_outbox; ALTER TABLE kiosks DROP COLUMN region;");
      db.exec("DROP TABLE operators");
      // … without what migration 5 (security) added,
      db.exec("DROP TABLE kiosk_certificates; DROP TABLE revocations; DROP TABLE enrolment_tokens;");
      // … and without what migration 4 (supervision) added.
      db.exec(`DROP TABLE kiosk_health; DROP TABLE kiosk_heartbeats; DROP TABLE kiosk_transitions; DROP TABLE ops_outbox;
        DROP INDEX kiosks_by_update; DROP INDEX alerts_test_by_kiosk; ALTER TABLE kiosks DROP COLUMN decommissioned_at;`);
      db.pragma("user_version = 2");
      db.close();
      const migrated = SqliteStore.open(dir);
      expect(await migrated.listOperators()).toEqual([]);
      await migrated.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

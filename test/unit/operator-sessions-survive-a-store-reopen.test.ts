/**
 * SessionStore written through to a real SQLite store in a temporary folder: what a gateway restart
 * finds when it opens the same data dir again. A fake clock moves time; nothing else is faked.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { operatorStamps, SessionStore } from "../../gateway/operators/sessions.js";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { FakeClock } from "../fixtures/fake-clock.js";

const TTL_MS = 60_000;

describe("operator sessions in the store (migration 8)", () => {
  let dir: string;
  let clock: FakeClock;
  let logs: LogCapture;
  const open: SqliteStore[] = [];

  /** A store and a SessionStore on `dir`, as a gateway start builds them (sessions loaded). */
  async function start(): Promise<{ store: SqliteStore; sessions: SessionStore }> {
    const store = SqliteStore.open(dir);
    open.push(store);
    const sessions = new SessionStore(TTL_MS, clock, { persist: { records: store.sessions, log: logs.logger("sessions") } });
    await sessions.load();
    return { store, sessions };
  }

  /** Every row of the table, read from the file by another connection. */
  function rows(): Record<string, unknown>[] {
    const db = new Database(join(dir, STORE_FILE), { readonly: true });
    try {
      return db.prepare<[], Record<string, unknown>>("SELECT * FROM operator_sessions ORDER BY created_at").all();
    } finally {
      db.close();
    }
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-sessions-"));
    clock = new FakeClock();
    logs = new LogCapture();
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a session survives a new store and SessionStore on the same data dir: same cookie, same MQTT token, same client id and role", async () => {
    const first = await start();
    const { id, session } = first.sessions.create("alice", "operator:alice:0123456789ab", "admin");
    await first.sessions.flush();
    await first.store.close();

    clock.ms += 30_000;
    const second = await start();
    expect(second.sessions.size).toBe(1);
    expect(second.sessions.get(id)).toEqual(session);
    expect(second.sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(true);
    expect(second.sessions.mqttTokenValid("bob", session.mqttToken, session.clientId)).toBe(false);
    expect(second.sessions.get(`${id}x`)).toBeUndefined();
    // Still expires when it would have: a restart does not extend a session.
    clock.ms += 30_000;
    expect(second.sessions.get(id)).toBeUndefined();
    expect(second.sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(false);
  });

  it("expired sessions are not loaded and are deleted from the table; pruning at the next login deletes the newly expired", async () => {
    const first = await start();
    const old = first.sessions.create("alice", "operator:alice:1");
    clock.ms += TTL_MS / 2;
    const young = first.sessions.create("bob", "operator:bob:1");
    await first.sessions.flush();
    expect(rows()).toHaveLength(2);

    clock.ms += TTL_MS / 2; // alice's has just expired, bob's has half its time left
    const second = await start();
    expect(second.sessions.size).toBe(1);
    expect(second.sessions.get(old.id)).toBeUndefined();
    expect(second.sessions.get(young.id)?.operator).toBe("bob");
    expect(rows().map((r) => r.operator)).toEqual(["bob"]);

    clock.ms += TTL_MS;
    second.sessions.create("carol", "operator:carol:1");
    await second.sessions.flush();
    expect(rows().map((r) => r.operator)).toEqual(["carol"]);
  });

  it("delete (logout) and dropAbsent (a removed operator) delete the rows: the sessions do not come back", async () => {
    const first = await start();
    const alice = first.sessions.create("alice", "operator:alice:1");
    const bob = first.sessions.create("bob", "operator:bob:1");
    const bob2 = first.sessions.create("bob", "operator:bob:2");
    const carol = first.sessions.create("carol", "operator:carol:1");
    expect(first.sessions.delete(alice.id)).toBe(true);
    expect(first.sessions.dropAbsent(new Set(["alice", "carol"])).map((s) => s.clientId).sort()).toEqual(["operator:bob:1", "operator:bob:2"]);
    await first.sessions.flush();
    expect(rows().map((r) => r.operator)).toEqual(["carol"]);

    const second = await start();
    for (const gone of [alice, bob, bob2]) {
      expect(second.sessions.get(gone.id)).toBeUndefined();
      expect(second.sessions.mqttTokenValid(gone.session.operator, gone.session.mqttToken, gone.session.clientId)).toBe(false);
    }
    expect(second.sessions.get(carol.id)?.operator).toBe("carol");
  });

  it("removing an operator from the store (sos operator remove) deletes its session rows with it", async () => {
    const first = await start();
    const now = clock.now();
    await first.store.putOperator({ name: "alice", passwordHash: "scrypt$1" }, { replace: false, now });
    await first.store.putOperator({ name: "bob", passwordHash: "scrypt$2" }, { replace: false, now });
    first.sessions.create("alice", "operator:alice:1");
    const bob = first.sessions.create("bob", "operator:bob:1");
    await first.sessions.flush();
    expect(await first.store.removeOperator("alice")).toBe(true);
    expect(rows().map((r) => r.operator)).toEqual(["bob"]);
    expect((await start()).sessions.get(bob.id)?.operator).toBe("bob");
  });

  it("replacing an operator (a new password or role) deletes its session rows with it, and dropChanged ends the cached ones", async () => {
    const first = await start();
    const now = clock.now();
    await first.store.putOperator({ name: "alice", passwordHash: "scrypt$1", role: "admin" }, { replace: false, now });
    await first.store.putOperator({ name: "bob", passwordHash: "scrypt$2" }, { replace: false, now });
    const stamps = async (): Promise<Map<string, string>> => operatorStamps(await first.store.listOperators());
    const alice = first.sessions.create("alice", "operator:alice:1", "admin", (await stamps()).get("alice"));
    // A session whose stamp is not known takes the current one at the first poll.
    const bob = first.sessions.create("bob", "operator:bob:1");
    await first.sessions.flush();
    expect(first.sessions.dropChanged(await stamps())).toEqual([]);

    // A demotion, with the same password hash: the role alone changes the stamp.
    expect(await first.store.putOperator({ name: "alice", passwordHash: "scrypt$1", role: "operator" }, { replace: true, now })).toBe(true);
    expect(rows().map((r) => r.operator)).toEqual(["bob"]);
    expect(first.sessions.dropChanged(await stamps()).map((s) => s.clientId)).toEqual(["operator:alice:1"]);
    expect(first.sessions.get(alice.id)).toBeUndefined();
    expect(first.sessions.mqttTokenValid("alice", alice.session.mqttToken, alice.session.clientId)).toBe(false);

    // A new password for bob, then a restart that reads the operators before the sessions.
    await first.store.putOperator({ name: "bob", passwordHash: "scrypt$3" }, { replace: true, now });
    expect(rows()).toEqual([]);
    const second = await start();
    expect(second.sessions.get(bob.id)).toBeUndefined();
  });

  it("the table and the database files hold no session id and no MQTT token, only their SHA-256", async () => {
    const { sessions } = await start();
    const secrets = [sessions.create("alice", "operator:alice:1"), sessions.create("bob", "operator:bob:1")].flatMap((s) => [s.id, s.session.mqttToken]);
    await sessions.flush();
    const stored = rows();
    expect(stored).toHaveLength(2);
    expect(Object.keys(stored[0] ?? {}).sort()).toEqual(["client_id", "created_at", "expires_at", "id_hash", "operator", "role", "token_hash"]);
    const values = stored.flatMap((r) => Object.values(r).map(String)).join("\n");
    // The WAL and the main file, as bytes: the secrets are nowhere on disk.
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString("latin1")).join("\n");
    for (const secret of secrets) {
      expect(values).not.toContain(secret);
      expect(files).not.toContain(secret);
    }
    expect(stored.map((r) => r.id_hash)).toEqual(expect.arrayContaining([expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]));
  });

  it("a store that cannot be written is logged, and the session still works until the gateway stops", async () => {
    const { store, sessions } = await start();
    await store.close();
    const { id, session } = sessions.create("alice", "operator:alice:1");
    await sessions.flush();
    expect(sessions.get(id)).toEqual(session);
    expect(sessions.mqttTokenValid("alice", session.mqttToken, session.clientId)).toBe(true);
    expect(logs.find("could not store an operator session: it will not survive a restart")).toEqual([
      expect.objectContaining({ level: "error", operator: "alice" }),
    ]);
    expect(logs.raw.join("\n")).not.toContain(id);
  });
});

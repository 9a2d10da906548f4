/**
 * The PostgreSQL store while its database goes away: backends killed with pg_terminate_backend, the
 * server unreachable (a TCP proxy cut, then a silent link), a switchover between two hosts of a
 * multi-host URL. During the outage every call rejects with STORE_UNAVAILABLE (nothing else, nothing
 * unhandled, the process stays up) and the store's status says so; after it, calls succeed again by
 * themselves. An alert whose recordAlert resolved "stored" is in the database.
 */
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { ErrorCode, isSosError } from "../../shared/errors.js";
import { newAlert } from "../contracts/gateway-store-fixtures.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { createTestDatabase, TEST_PG_SERVER, type TestDatabase } from "./pg-database.js";

const server = /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^:/,]+)(?::(\d+))?/.exec(TEST_PG_SERVER);
const PG = { host: server?.[1] ?? "127.0.0.1", port: Number(server?.[2] ?? 5432) };

let db: TestDatabase;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);
const stores: PostgresStore[] = [];
const proxies: TcpProxy[] = [];

async function proxy(): Promise<{ proxy: TcpProxy; hostPort: string }> {
  const p = new TcpProxy(PG);
  proxies.push(p);
  const port = new URL(await p.start()).port;
  return { proxy: p, hostPort: `127.0.0.1:${port}` };
}

/** The test database's URL through other hosts (the user and database as on the test server). */
function urlVia(hostPorts: string[], query = ""): string {
  const user = /^postgres(?:ql)?:\/\/([^@/:]*)/.exec(TEST_PG_SERVER)?.[1] ?? "postgres";
  return `postgres://${user}@${hostPorts.join(",")}/${db.name}${query}`;
}

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(url);
  stores.push(store);
  return store;
}

/** Resolves with the call's outcome: "ok", or the code of a STORE_UNAVAILABLE rejection; any other error fails the test. */
async function outcome(call: () => Promise<unknown>): Promise<"ok" | "unavailable"> {
  try {
    await call();
    return "ok";
  } catch (err) {
    if (isSosError(err, ErrorCode.StoreUnavailable)) return "unavailable";
    throw err;
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function terminateBackends(): Promise<number> {
  const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin<{ t: boolean }[]>`SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
    return rows.length;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

async function storedAlertIds(): Promise<string[]> {
  const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
  try {
    return (await sql<{ alert_id: string }[]>`SELECT a.alert_id FROM alerts a JOIN dispatch_outbox d ON d.alert_id = a.alert_id`).map((r) => r.alert_id);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe("the PostgreSQL store rides out lost connections", () => {
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    db = await createTestDatabase();
    await (await PostgresStore.open(db.url)).close(); // the schema, once
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const p of proxies.splice(0)) await p.stop();
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await db.drop();
  });

  it("backends killed while alerts are stored: each call is stored or refused as unavailable, every stored one is committed, and retries store the rest once", async () => {
    const store = await open(db.url);
    const alerts = Array.from({ length: 60 }, (_, i) => newAlert(`kz-term-${i % 6}`));
    const results = new Map<string, string>();
    let killed = 0;
    const killer = (async () => {
      for (let round = 0; round < 5; round += 1) {
        await new Promise((r) => setTimeout(r, 15));
        killed += await terminateBackends();
      }
    })();
    await Promise.all(
      alerts.map(async (alert, i) => {
        await new Promise((r) => setTimeout(r, i * 2));
        const result = await outcome(async () => results.set(alert.alertId, (await store.recordAlert(alert, new Date(), "{}")).outcome));
        if (result === "unavailable") results.set(alert.alertId, "unavailable");
      }),
    );
    await killer;
    expect(killed).toBeGreaterThan(0);
    const stored = [...results].filter(([, r]) => r === "stored").map(([id]) => id);
    const inDb = await storedAlertIds();
    for (const id of stored) expect(inDb).toContain(id); // acked only once committed
    // The kiosks resend what was not acknowledged, again after each refusal: a pooled connection the
    // last kill round ended may refuse the first resend too, before the pool has noticed it is gone.
    for (const alert of alerts) {
      if (results.get(alert.alertId) !== "unavailable") continue;
      let resent: "ok" | "unavailable" = "unavailable";
      for (let attempt = 0; attempt < 20 && resent === "unavailable"; attempt += 1) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        resent = await outcome(async () => expect((await store.recordAlert(alert, new Date(), "{}")).outcome).toMatch(/stored|duplicate/));
      }
      expect(resent).toBe("ok");
    }
    expect((await storedAlertIds()).sort()).toEqual(alerts.map((a) => a.alertId).sort());
  });

  it("the server unreachable: calls are refused as unavailable at once, the status says so, and the store carries on by itself when it is back", async () => {
    const { proxy: link, hostPort } = await proxy();
    const store = await open(urlVia([hostPort]));
    expect(await outcome(() => store.listKiosks())).toBe("ok");
    link.down("cut");
    const during = [];
    for (let i = 0; i < 5; i += 1) during.push(await outcome(() => store.recordAlert(newAlert("kz-cut"), new Date(), "{}")));
    expect(during).toEqual(["unavailable", "unavailable", "unavailable", "unavailable", "unavailable"]);
    expect(store.status()).toMatchObject({ available: false, downSince: expect.any(String) as string });
    link.heal();
    await until(async () => (await outcome(() => store.listKiosks())) === "ok", "the store to answer again");
    expect(await outcome(() => store.recordAlert(newAlert("kz-cut"), new Date(), "{}"))).toBe("ok");
    expect(store.status()).toEqual({ available: true, downSince: null, lastError: expect.any(String) as string });
  });

  it("a database that refuses connections (ALLOW_CONNECTIONS false) is unavailable too, until it accepts them again", async () => {
    const store = await open(db.url);
    const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await terminateBackends();
      await until(async () => (await outcome(() => store.listKiosks())) === "unavailable", "the store to be refused");
      expect(await outcome(() => store.recordAlert(newAlert("kz-refused"), new Date(), "{}"))).toBe("unavailable");
      await admin.unsafe(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    await until(async () => (await outcome(() => store.listKiosks())) === "ok", "the store to answer again");
  });

  // The alert's statement runs for the first time on the dead link: postgres 4.2.0's own query_timeout
  // does not cover that step; the store's deadline (client.ts guarded) does.
  it("a link that dies silently: calls are refused once the query timeout passes, not held forever", async () => {
    const { proxy: link, hostPort } = await proxy();
    const store = await open(urlVia([hostPort], "?query_timeout=1&connect_timeout=1"));
    expect(await outcome(() => store.listKiosks())).toBe("ok");
    link.down("blackhole");
    expect(await outcome(() => store.recordAlert(newAlert("kz-hole"), new Date(), "{}"))).toBe("unavailable");
    link.heal();
    await until(async () => (await outcome(() => store.listKiosks())) === "ok", "a new connection after the silent link");
  });

  it("a multi-host URL: a first host that is down is passed over, and a switchover to the other host is ridden out", async () => {
    const a = await proxy();
    const b = await proxy();
    const dead = await proxy();
    dead.proxy.down("cut");
    const store = await open(urlVia([dead.hostPort, a.hostPort, b.hostPort], "?target_session_attrs=read-write"));
    expect(await outcome(() => store.recordAlert(newAlert("kz-ha"), new Date(), "{}"))).toBe("ok");
    expect(a.proxy.accepted).toBeGreaterThan(0);
    a.proxy.down("cut"); // the primary goes away; the other host takes over
    await until(async () => (await outcome(() => store.recordAlert(newAlert("kz-ha"), new Date(), "{}"))) === "ok", "a store on the other host");
    expect(b.proxy.accepted).toBeGreaterThan(0);
  });
});

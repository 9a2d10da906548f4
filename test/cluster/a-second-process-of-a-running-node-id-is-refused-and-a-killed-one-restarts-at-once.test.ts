/**
 * `sos gateway --node-id gw-a` is one running process: a second process given the id of a node that
 * runs (and beats) is refused on one line after waiting out the first's silence deadline, and
 * listens on nothing; the node killed (SIGKILL) and started again on the same machine starts at once,
 * its dead predecessor retired from `sos cluster status`. Real gateway processes on a fresh
 * PostgreSQL database and a redis-server of the test's own. Needs `npm run build`.
 */
import { createConnection } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { freePort, tempDir } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "../pg/pg-database.js";
import { GatewayNode } from "./gateway-nodes.js";

const refusesConnections = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });

describe("one running process per node id", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("a second gw-a is refused on one line while the first beats; gw-a killed and started again starts at once", async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    const redis = await new TestRedis(await freePort()).start();
    cleanups.push(() => redis.stop());
    const receiver = await new DispatchReceiver().start();
    cleanups.push(() => receiver.stop());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const options = { storeUrl: db.url, redisUrl: redis.url, dispatchUrl: receiver.url, root: dir.path };
    const first = new GatewayNode("gw-a", await freePort(), options);
    cleanups.push(() => first.stop("SIGKILL"));
    await first.start();

    const twin = new GatewayNode("gw-a", await freePort(), { ...options, root: `${dir.path}/twin` });
    cleanups.push(() => twin.stop("SIGKILL"));
    await expect(twin.start(40_000)).rejects.toThrow();
    const exited = await twin.process!.exited;
    expect(exited.code).toBe(1);
    const stderr = twin.process!.stderr.filter((l) => l.trim() !== "");
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^sos: node id gw-a is in use: another gateway process \(gw-a\/[^)]+\) still beats in this store, \d+ s ago: give this node its own --node-id, or stop that process first$/);
    expect(await refusesConnections(twin.mqttPort)).toBe(true);
    expect(first.alive).toBe(true);

    await first.stop("SIGKILL");
    const restartedAt = Date.now();
    await first.start();
    // Its predecessor's pid is gone from this machine: no wait for its beats to fall silent (15 s).
    expect(Date.now() - restartedAt).toBeLessThan(12_000);
    expect(first.logs("earlier processes of this node id retired (they died): their jobs are taken over now")).toHaveLength(1);
  });
});

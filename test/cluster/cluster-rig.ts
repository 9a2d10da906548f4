/**
 * What the cluster tests stand on: per test, a fresh PostgreSQL database (dropped after the file), a
 * redis-server of its own on a free port (so it can be killed), a temporary folder, and in-process
 * gateway nodes on them; every part stopped after the test.
 *
 *   const { defer, rig } = clusterRigs();          // in the describe
 *   const { node, routed } = await rig();          // in the test
 *   const a = await node("gw-a"); const b = await node("gw-b"); await routed(a, b);
 */
import { afterAll } from "vitest";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { type Defer, deferCleanups } from "../integration/cleanups.js";
import { freePort, startTestGateway, tempDir, type TestGateway, waitFor } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "../pg/pg-database.js";

export interface ClusterRig {
  readonly db: TestDatabase;
  readonly redis: TestRedis;
  /** The test's temporary folder (each node's data folder is `<dir>/<node id>`). */
  readonly dir: string;
  /** Starts a gateway node on the rig's database and Redis (stopped after the test). */
  readonly node: (nodeId: string, overrides?: Partial<GatewayConfigInput>) => Promise<TestGateway>;
  /** Waits until every node's routing is up. */
  readonly routed: (...nodes: TestGateway[]) => Promise<void>;
}

export function clusterRigs(): { readonly defer: Defer; readonly rig: () => Promise<ClusterRig> } {
  const defer = deferCleanups();
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });
  const rig = async (): Promise<ClusterRig> => {
    const db = await createTestDatabase();
    databases.push(db);
    const redis = await new TestRedis(await freePort()).start();
    defer(() => redis.stop());
    const dir = tempDir();
    defer(() => dir.remove());
    const node = async (nodeId: string, overrides: Partial<GatewayConfigInput> = {}): Promise<TestGateway> => {
      const gateway = await startTestGateway(`${dir.path}/${nodeId}`, { store: { url: db.url }, ...overrides, cluster: { redisUrl: redis.url, nodeId, ...overrides.cluster } });
      defer(() => gateway.stop());
      return gateway;
    };
    const routed = async (...nodes: TestGateway[]): Promise<void> => {
      await waitFor(() => nodes.every((n) => n.logs.find("cluster routing up").length > 0), "every node on Redis", 20_000);
    };
    return { db, redis, dir: dir.path, node, routed };
  };
  return { defer, rig };
}

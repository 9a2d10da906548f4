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
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { type Defer, deferCleanups } from "../integration/cleanups.js";
import { DISPATCH_SECRET, freePort, provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, type TestKiosk, waitFor } from "../integration/harness.js";
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
  /**
   * Nodes gw-a and gw-b dispatching to a receiver of the test's own, and `count` kiosks
   * `<prefix>0001`… on them, half trying B first (`order: "listed"`); resolves once every kiosk is
   * connected (within `connectWithinMs`).
   */
  readonly twoNodeFleet: (prefix: string, count: number, connectWithinMs?: number) => Promise<TwoNodeFleet>;
}

export interface TwoNodeFleet {
  readonly receiver: DispatchReceiver;
  readonly a: TestGateway;
  readonly b: TestGateway;
  readonly kiosks: TestKiosk[];
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
    const twoNodeFleet = async (prefix: string, count: number, connectWithinMs = 15_000): Promise<TwoNodeFleet> => {
      const receiver = await new DispatchReceiver().start();
      defer(() => receiver.stop());
      const dispatch = { dispatch: { url: receiver.url, secret: DISPATCH_SECRET } };
      const a = await node("gw-a", dispatch);
      const b = await node("gw-b", dispatch);
      const kiosks: TestKiosk[] = [];
      for (let i = 1; i <= count; i += 1) {
        const id = `${prefix}${String(i).padStart(4, "0")}`;
        const provisioned = await provisionTestKiosk({ dataDir: a.dataDir, storeUrl: db.url }, id, a.mqttUrl, dir.path);
        const { url: _one, ...mqtt } = provisioned.mqtt;
        const urls = i % 2 === 0 ? [b.mqttUrl, a.mqttUrl] : [a.mqttUrl, b.mqttUrl];
        const kiosk = await startTestKiosk(parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls, order: "listed" } }));
        defer(() => kiosk.stop());
        kiosks.push(kiosk);
      }
      await waitFor(() => kiosks.every((k) => k.logs.find("connected to gateway").length > 0), "every kiosk connected", connectWithinMs);
      return { receiver, a, b, kiosks };
    };
    return { db, redis, dir: dir.path, node, routed, twoNodeFleet };
  };
  return { defer, rig };
}

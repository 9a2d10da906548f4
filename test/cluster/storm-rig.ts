/**
 * Three gateway processes on a cluster rig's database and Redis, dispatching to one receiver, and a
 * fleet of real kiosk agents spread over them: what the storm tests stand on, all stopped after the
 * test.
 */
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import type { Defer } from "../integration/cleanups.js";
import type { ClusterRig } from "./cluster-rig.js";
import { type GatewayNode, makeGatewayNodes, startAll, stopAll } from "./gateway-nodes.js";
import { StormFleet } from "./storm-fleet.js";

export interface Storm {
  readonly receiver: DispatchReceiver;
  readonly nodes: GatewayNode[];
  readonly fleet: StormFleet;
}

export async function startStorm(defer: Defer, rig: ClusterRig, kiosks: number, prefix: string, timings: "fast" | "production" = "fast"): Promise<Storm> {
  const { db, redis, dir } = rig;
  const receiver = await new DispatchReceiver().start();
  defer(() => receiver.stop());
  const nodes = await makeGatewayNodes(3, { storeUrl: db.url, redisUrl: redis.url, dispatchUrl: receiver.url, root: dir });
  defer(() => stopAll(nodes));
  await startAll(nodes);
  const fleet = new StormFleet();
  defer(() => fleet.stop());
  await fleet.start(kiosks, { dataDir: nodes[0]!.dataDir, storeUrl: db.url }, nodes.map((n) => n.url), dir, prefix, timings);
  return { receiver, nodes, fleet };
}

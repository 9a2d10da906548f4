/**
 * A node whose `--cluster` names another Redis than the others splits the routing (operators on one
 * side never get the alarms of the other side's kiosks) while each side says "routing up": each node
 * announces itself on its routing bus and reports a node beating in the shared store that it does not
 * hear (one warning when it starts, one when it ends, /readyz's cluster line, sos_cluster_nodes_unheard).
 * On one Redis neither reports the other, nor when one is killed (its beats stop with its
 * announcements); the announcements never reach a listener of the routing such as `#` (what Aedes
 * registers for a client). Real gateway processes on a fresh PostgreSQL database and redis-servers of
 * the test's own. Needs `npm run build`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Announcement, ClusterRouting, NODES_TOPIC } from "../../gateway/cluster/routing.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { freePort, tempDir, waitFor } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "../pg/pg-database.js";
import { GatewayNode } from "./gateway-nodes.js";

const UNHEARD =
  "gateway node beats in the store but is not heard over the cluster routing: it routes through another Redis (or none), so operators here never get the alarms and calls of its kiosks, nor its operators those of ours: every node's --cluster must name the same Redis";
const GONE = "gateway node not heard over the cluster routing stopped beating: no longer reported";
const BEAT_MS = 500;
/** A node is judged after 3 beats or its deadAfterMs, whichever is longer. */
const DEAD_AFTER_MS = 4 * BEAT_MS;

async function clusterLine(node: GatewayNode): Promise<{ status: number; cluster: string; unheard: string }> {
  const { status, cluster, gauge } = await node.clusterReadiness("sos_cluster_nodes_unheard");
  return { status, cluster, unheard: gauge };
}

const notHeard = (node: string): string => `routing up; not heard over the routing, though beating in the store: ${node} (every node's --cluster must name the same Redis)`;

describe("a node on another Redis than the others", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("is reported not heard by each side (log, /readyz, metric); on one Redis neither is, nor a node killed, and no routing listener gets an announcement", async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    const [one, two] = [await new TestRedis(await freePort()).start(), await new TestRedis(await freePort()).start()];
    cleanups.push(() => one.stop(), () => two.stop());
    const receiver = await new DispatchReceiver().start();
    cleanups.push(() => receiver.stop());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const options = { storeUrl: db.url, dispatchUrl: receiver.url, root: dir.path, extraArgs: ["--cluster-beat-ms", String(BEAT_MS), "--cluster-dead-after-ms", String(DEAD_AFTER_MS)] };
    const a = new GatewayNode("gw-a", await freePort(), { ...options, redisUrl: one.url });
    const bElsewhere = new GatewayNode("gw-b", await freePort(), { ...options, redisUrl: two.url });
    cleanups.push(() => a.stop("SIGKILL"), () => bElsewhere.stop("SIGKILL"));
    await a.start();
    await bElsewhere.start();

    await waitFor(() => a.logs(UNHEARD).length > 0 && bElsewhere.logs(UNHEARD).length > 0, "each side reporting the other", 20 * BEAT_MS);
    expect(a.logs(UNHEARD)).toEqual([expect.objectContaining({ level: "warn", node: "gw-b", redis: one.url, lastHeardAt: null })]);
    expect(bElsewhere.logs(UNHEARD)).toEqual([expect.objectContaining({ level: "warn", node: "gw-a", redis: two.url, lastHeardAt: null })]);
    expect(await clusterLine(a)).toEqual({ status: 200, cluster: notHeard("gw-b"), unheard: "1" });
    expect(await clusterLine(bElsewhere)).toEqual({ status: 200, cluster: notHeard("gw-a"), unheard: "1" });

    // gw-b stops cleanly (its row goes: the report ends) and comes back on gw-a's Redis.
    await bElsewhere.stop("SIGTERM");
    await waitFor(() => a.logs(GONE).length > 0, "the report ended", 10 * BEAT_MS);
    expect(a.logs(GONE)).toEqual([expect.objectContaining({ node: "gw-b" })]);
    const b = new GatewayNode("gw-b", bElsewhere.mqttPort, { ...options, redisUrl: one.url });
    cleanups.push(() => b.stop("SIGKILL"));

    // A listener of the routing on every topic, as Aedes registers for a client subscribed to `#`.
    const probeLogs = new LogCapture();
    const probe = new ClusterRouting({ url: one.url, nodeId: "probe" }, probeLogs.logger("probe"));
    cleanups.push(() => new Promise<void>((r) => probe.close(() => r())));
    const announced: Announcement[] = [];
    const delivered: string[] = [];
    probe.onAnnouncement((from) => announced.push(from));
    probe.on("#", (message, done) => {
      delivered.push(message.topic);
      done();
    });
    await b.start();
    await waitFor(() => ["gw-a", "gw-b"].every((id) => announced.some((x) => x.nodeId === id)), "both nodes announcing on the one Redis", 10 * BEAT_MS);
    // Well past the judgement (3 beats, or the nodes' deadAfterMs) after both routings came up.
    await new Promise((r) => setTimeout(r, 3 * DEAD_AFTER_MS));
    expect(b.logs(UNHEARD)).toEqual([]);
    expect(a.logs(UNHEARD)).toHaveLength(1);
    expect(await clusterLine(a)).toEqual({ status: 200, cluster: "routing up", unheard: "0" });
    expect(await clusterLine(b)).toEqual({ status: 200, cluster: "routing up", unheard: "0" });
    expect(delivered.filter((t) => t === NODES_TOPIC)).toEqual([]);

    // Killed, gw-b stops beating as it stops announcing: called dead by its silence, never reported unheard on the way.
    await b.stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 2 * DEAD_AFTER_MS + 2 * BEAT_MS));
    expect(a.logs(UNHEARD)).toHaveLength(1);
    expect(await clusterLine(a)).toEqual({ status: 200, cluster: "routing up", unheard: "0" });
  });
});

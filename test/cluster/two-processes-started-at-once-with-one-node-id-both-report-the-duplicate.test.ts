/**
 * Two `sos gateway --node-id gw-c` processes started at the same moment both pass the start's check
 * (neither has beaten yet) and both run: while they do, each says so (an error naming both processes
 * and the fix, once a minute), /readyz's cluster line and sos_cluster_node_id_duplicates name it, and
 * `sos cluster status` marks both rows; once one has died the other says it is alone again. The start's
 * race is made certain: the test holds cluster_nodes locked until both processes wait to read it.
 * Real gateway processes on a fresh PostgreSQL database and a redis-server of the test's own. Needs
 * `npm run build`.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../gateway/store/open.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { freePort, spawnSos, tempDir, waitFor } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "../pg/pg-database.js";
import { GatewayNode } from "./gateway-nodes.js";

const DUPLICATE = "another gateway process runs with this node id: each drops the other's routed MQTT messages as its own, so operators on one never get the alarms and calls of the kiosks on the other: give each node its own --node-id, or stop one";
const ALONE = "no other gateway process runs with this node id any more";
const BEAT_MS = 500;

async function clusterLine(node: GatewayNode): Promise<{ status: number; cluster: string; duplicates: string }> {
  const { status, cluster, gauge } = await node.clusterReadiness("sos_cluster_node_id_duplicates");
  return { status, cluster, duplicates: gauge };
}

describe("one node id run by two processes started at once", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("both report the duplicate (log once a minute, /readyz, metric), sos cluster status marks it, and the survivor says when it ends", async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    // The schema first: neither process waits for the other's migration, both reach the check together.
    await (await openStore({ url: db.url })).close();
    const redis = await new TestRedis(await freePort()).start();
    cleanups.push(() => redis.stop());
    const receiver = await new DispatchReceiver().start();
    cleanups.push(() => receiver.stop());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const options = { storeUrl: db.url, redisUrl: redis.url, dispatchUrl: receiver.url, extraArgs: ["--cluster-beat-ms", String(BEAT_MS), "--cluster-dead-after-ms", String(4 * BEAT_MS)] };
    const one = new GatewayNode("gw-c", await freePort(), { ...options, root: `${dir.path}/one` });
    const two = new GatewayNode("gw-c", await freePort(), { ...options, root: `${dir.path}/two` });
    cleanups.push(() => one.stop("SIGKILL"), () => two.stop("SIGKILL"));

    const admin = postgres(db.url, { max: 2, onnotice: () => undefined });
    cleanups.push(() => admin.end({ timeout: 5 }));
    let unlock = (): void => undefined;
    const locked = new Promise<void>((r) => (unlock = r));
    const holding = admin.begin(async (tx) => {
      await tx`LOCK TABLE cluster_nodes IN ACCESS EXCLUSIVE MODE`;
      await locked;
    });
    const started = Promise.all([one.start(), two.start()]);
    await waitFor(
      async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${db.name} AND wait_event_type = 'Lock' AND query LIKE '%cluster_nodes%'`)[0]?.n === 2,
      "both processes waiting to read the nodes' beats",
      30_000,
    );
    unlock();
    await holding;
    await started;

    for (const node of [one, two]) await waitFor(() => node.logs(DUPLICATE).length > 0, `the process on port ${node.mqttPort} logging the duplicate`, 10 * BEAT_MS);
    const [a, b] = [one.logs(DUPLICATE)[0], two.logs(DUPLICATE)[0]];
    expect(a).toMatchObject({ level: "error", nodeId: "gw-c", others: [b?.holder] });
    expect(b).toMatchObject({ level: "error", nodeId: "gw-c", others: [a?.holder] });
    for (const node of [one, two]) {
      const line = await clusterLine(node);
      expect(line.status).toBe(200);
      expect(line.cluster).toMatch(/^routing up; duplicate node id: gw-c also runs as gw-c\/\S+ \(give each node its own --node-id, or stop one\)$/);
      expect(line.duplicates).toBe("1");
    }

    const table = spawnSos(["cluster", "status", "--store", db.url]);
    expect(await table.exited, table.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    const rows = table.stdout.filter((l) => l.startsWith("gw-c"));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^gw-c \(duplicate node id\)\s+gw-c\//);
    expect(table.stdout.join("\n")).toContain("node id gw-c is run by 2 live processes (");
    expect(table.stdout.join("\n")).toContain("give each node its own --node-id, or stop one");
    const json = spawnSos(["cluster", "status", "--store", db.url, "--json"]);
    expect(await json.exited, json.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    const nodes = (JSON.parse(json.stdout.join("\n")) as { nodes: { nodeId: string; holder: string; duplicateNodeId: boolean }[] }).nodes;
    expect(nodes.map((n) => [n.holder, n.duplicateNodeId]).sort()).toEqual([a?.holder, b?.holder].map((h) => [h, true]).sort());

    // Said once a minute, not once a beat.
    await new Promise((r) => setTimeout(r, 6 * BEAT_MS));
    expect(one.logs(DUPLICATE)).toHaveLength(1);
    expect(two.logs(DUPLICATE)).toHaveLength(1);

    // One of them dies: the other finds its pid gone (this machine) and says it runs alone.
    await two.stop("SIGKILL");
    await waitFor(() => one.logs(ALONE).length > 0, "the survivor alone again", 20 * BEAT_MS);
    expect((await clusterLine(one)).cluster).toBe("routing up");
    expect((await clusterLine(one)).duplicates).toBe("0");
  });
});

/**
 * MQTT routing between gateway nodes (gateway/cluster/routing.ts): a publish on one node reaches
 * subscribers on the other, once; subscribers on the same node get it once (not again through
 * Redis); what nobody may subscribe to (a kiosk's heartbeats, alerts, status) never goes to Redis; with Redis killed each node still serves its own clients, the cross-node gap is counted
 * and logged once, and routing resumes by itself when Redis is back. Two real Aedes brokers on
 * ephemeral ports, real mqtt.js clients, a real redis-server of the test's own.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { Redis } from "ioredis";
import MQEmitterRedis from "mqemitter-redis";
import mqtt, { type MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { ClusterRouting } from "../../gateway/cluster/routing.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { deferCleanups, type Defer } from "../integration/cleanups.js";
import { freePort, waitFor } from "../integration/harness.js";

interface Node {
  readonly routing: ClusterRouting;
  readonly url: string;
  readonly logs: LogCapture;
}

async function startNode(defer: Defer, nodeId: string, redisUrl: string): Promise<Node> {
  const logs = new LogCapture();
  const routing = new ClusterRouting({ url: redisUrl, nodeId }, logs.logger(nodeId));
  const broker = await Aedes.createBroker({ id: nodeId, mq: routing });
  const server: Server = createServer(broker.handle);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  defer(async () => {
    server.close();
    await new Promise<void>((r) => broker.close(() => r()));
  });
  return { routing, url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, logs };
}

/** A redis-server of the test's own and two nodes routing through it, both connected. */
async function twoNodes(defer: Defer): Promise<{ redis: TestRedis; a: Node; b: Node }> {
  const redis = await new TestRedis(await freePort()).start();
  defer(() => redis.stop());
  const a = await startNode(defer, "gw-a", redis.url);
  const b = await startNode(defer, "gw-b", redis.url);
  await waitFor(() => a.routing.state().up && b.routing.state().up, "both nodes on Redis");
  return { redis, a, b };
}

async function client(defer: Defer, url: string, id: string, subscribe?: string): Promise<{ client: MqttClient; got: string[] }> {
  const c = await mqtt.connectAsync(url, { clientId: id, reconnectPeriod: 0, protocolVersion: 4 });
  defer(() => c.endAsync(true));
  const got: string[] = [];
  c.on("message", (_topic, payload) => got.push(payload.toString()));
  if (subscribe !== undefined) await c.subscribeAsync(subscribe, { qos: 1 });
  return { client: c, got };
}

describe("cluster routing between gateway nodes", () => {
  const defer = deferCleanups();

  it("a publish on node A reaches a subscriber on node B once, and A's own subscriber once", async () => {
    const { a, b } = await twoNodes(defer);
    const onB = await client(defer, b.url, "page-on-b", "sos/v1/kiosks/+/call/up");
    const onA = await client(defer, a.url, "page-on-a", "sos/v1/kiosks/+/call/up");
    const kiosk = await client(defer, a.url, "kiosk-on-a");
    // The subscription reaches Redis without the SUBACK waiting for it: give it a moment.
    await new Promise((r) => setTimeout(r, 200));

    for (let i = 1; i <= 5; i += 1) await kiosk.client.publishAsync("sos/v1/kiosks/kz-1/call/up", `ring ${i}`, { qos: 1 });
    await waitFor(() => onB.got.length === 5 && onA.got.length === 5, "both pages got the five");
    await new Promise((r) => setTimeout(r, 300));
    expect(onB.got).toEqual(["ring 1", "ring 2", "ring 3", "ring 4", "ring 5"]);
    expect(onA.got).toEqual(["ring 1", "ring 2", "ring 3", "ring 4", "ring 5"]);
    expect(b.routing.state().received).toBeGreaterThanOrEqual(5);
  });

  it("with Redis killed each node serves its own clients, the gap is logged once and counted, and routing resumes when Redis is back", async () => {
    const { redis, a, b } = await twoNodes(defer);
    const localPage = await client(defer, a.url, "page-on-a", "sos/v1/kiosks/+/call/up");
    const remotePage = await client(defer, b.url, "page-on-b", "sos/v1/kiosks/+/call/up");
    const kiosk = await client(defer, a.url, "kiosk-on-a");
    await new Promise((r) => setTimeout(r, 200));

    await redis.kill();
    await waitFor(() => !a.routing.state().up, "node A sees Redis gone");
    const sentAt = Date.now();
    for (let i = 1; i <= 20; i += 1) await kiosk.client.publishAsync("sos/v1/kiosks/kz-1/call/up", `ice ${i}`, { qos: 1 });
    // Local delivery never waited for Redis.
    await waitFor(() => localPage.got.length === 20, "the page on the same node got all twenty");
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    expect(remotePage.got).toEqual([]);
    expect(a.routing.state()).toMatchObject({ up: false, outages: 1 });
    expect(a.routing.state().notRouted).toBeGreaterThanOrEqual(20);
    const down = a.logs.find("cluster routing down (Redis unreachable): this node's kiosks and pages are served, messages to other nodes are not routed until it is back");
    expect(down).toHaveLength(1);
    // Why, in words about the connection (not a command refused on a closing subscriber connection).
    expect(String(down[0]?.reason)).toMatch(/^(the connection to Redis closed|.*ECONNREFUSED.*|.*ECONNRESET.*)$/);

    await redis.start();
    await waitFor(() => a.routing.state().up && b.routing.state().up, "both nodes back on Redis", 15_000);
    const back = a.logs.find("cluster routing back");
    expect(back).toHaveLength(1);
    // The line counts the outage's messages (the metric may count more: a send that failed before
    // the outage was noticed, or whose failure came back after it ended).
    expect(back[0]?.notRouted).toBeGreaterThanOrEqual(20);
    expect(back[0]?.notRouted).toBeLessThanOrEqual(a.routing.state().notRouted);
    await new Promise((r) => setTimeout(r, 300));
    await kiosk.client.publishAsync("sos/v1/kiosks/kz-1/call/up", "after", { qos: 1 });
    await waitFor(() => remotePage.got.includes("after"), "the remote page gets messages again");
    expect(remotePage.got).toEqual(["after"]);
  });

  it("a node whose Redis does not answer from its start says so once, with what went wrong, and that routing is back when it answers", async () => {
    const port = await freePort();
    const logs = new LogCapture();
    const routing = new ClusterRouting({ url: `redis://:not-the-password@127.0.0.1:${port}`, nodeId: "gw-a", startGraceMs: 500 }, logs.logger("gw-a"));
    defer(() => new Promise<void>((r) => routing.close(() => r())));
    const said = "cluster routing down since this node started (Redis unreachable, or refusing this node: check --cluster / SOS_CLUSTER_URL and its password): this node's kiosks and pages are served, messages to other nodes are not routed until it answers";
    await waitFor(() => logs.find(said).length > 0, "the outage said", 5_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const lines = logs.find(said);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", redis: `redis://127.0.0.1:${port}` });
    expect(String(lines[0]?.reason)).toContain("ECONNREFUSED");
    expect(JSON.stringify(lines[0])).not.toContain("not-the-password");
    expect(routing.state()).toMatchObject({ up: false, outages: 1 });
    const redis = await new TestRedis(port).start();
    defer(() => redis.stop());
    await waitFor(() => logs.find("cluster routing back").length === 1, "routing back when Redis answers", 15_000);
    expect(logs.find("cluster routing up")).toEqual([]);
  });

  it("an ack written into Redis by someone else never reaches a kiosk (acks are always local); other topics still cross", async () => {
    const redis = await new TestRedis(await freePort()).start();
    defer(() => redis.stop());
    const a = await startNode(defer, "gw-a", redis.url);
    await waitFor(() => a.routing.state().up, "node on Redis");
    const kiosk = await client(defer, a.url, "kz-1", "sos/v1/kiosks/kz-1/acks");
    const page = await client(defer, a.url, "page", "sos/v1/kiosks/+/call/up");
    await new Promise((r) => setTimeout(r, 300));
    // Someone with access to Redis, speaking mqemitter-redis as a node would.
    const intruder = MQEmitterRedis({ connectionString: redis.url });
    defer(() => new Promise<void>((r) => intruder.close(() => r())));
    const forge = (topic: string, body: string): Promise<void> =>
      new Promise((resolve, reject) => intruder.emit({ cmd: "publish", topic, payload: Buffer.from(body), qos: 1, retain: false, sosOrigin: "gw-x" }, (err) => (err ? reject(err) : resolve())));
    await forge("sos/v1/kiosks/kz-1/acks", "forged ack");
    await forge("sos/v1/kiosks/kz-1/call/up", "crossed");
    await waitFor(() => page.got.length === 1, "the call/up message crossed");
    await new Promise((r) => setTimeout(r, 300));
    expect(page.got).toEqual(["crossed"]);
    expect(kiosk.got).toEqual([]);
  });

  it("a node asks Redis only for what other nodes may send: never a kiosk's acks, and Aedes' per-connection announcements other than new clients stay on the node", async () => {
    const redis = await new TestRedis(await freePort()).start();
    defer(() => redis.stop());
    const a = await startNode(defer, "gw-a", redis.url);
    await waitFor(() => a.routing.state().up, "node on Redis");
    const watcher = new Redis(redis.url);
    defer(() => void watcher.disconnect());
    const heard: string[] = [];
    watcher.on("pmessage", (_pattern, channel) => heard.push(channel));
    await watcher.psubscribe("$SYS/*");
    const asker = new Redis(redis.url);
    defer(() => void asker.disconnect());
    const subscribers = async (channel: string): Promise<number> => Number(((await asker.pubsub("NUMSUB", channel)) as [string, number])[1]);
    const kiosk = await client(defer, a.url, "kz-1", "sos/v1/kiosks/kz-1/acks");
    await kiosk.client.subscribeAsync("sos/v1/kiosks/kz-1/commands", { qos: 1 });
    await waitFor(async () => (await subscribers("sos/v1/kiosks/kz-1/commands")) === 1, "the commands subscription mirrored to Redis");
    expect(await subscribers("sos/v1/kiosks/kz-1/acks")).toBe(0);
    await kiosk.client.unsubscribeAsync("sos/v1/kiosks/kz-1/commands");
    await waitFor(async () => (await subscribers("sos/v1/kiosks/kz-1/commands")) === 0, "the commands subscription dropped in Redis with the MQTT one");
    await waitFor(() => heard.includes("$SYS/gw-a/new/clients"), "the new client announced to the other nodes");
    await kiosk.client.endAsync(true);
    await waitFor(() => a.routing.state().routed >= 1, "something routed");
    await new Promise((r) => setTimeout(r, 300));
    expect(heard.filter((t) => /new\/subscribes|new\/unsubscribes|disconnect\/clients/.test(t))).toEqual([]);
  });

  it("a kiosk's heartbeats, alerts and status never go to Redis (nobody on another node may read them); its call/up does", async () => {
    const { redis, a, b } = await twoNodes(defer);
    const watcher = new Redis(redis.url);
    defer(() => void watcher.disconnect());
    const heard: string[] = [];
    watcher.on("pmessage", (_pattern, channel) => heard.push(channel));
    await watcher.psubscribe("sos/*");
    // A subscriber on B to everything: with no ACL here, only the routing decides what crosses.
    const onB = await client(defer, b.url, "everything-on-b", "sos/v1/kiosks/#");
    const kiosk = await client(defer, a.url, "kz-1");
    await new Promise((r) => setTimeout(r, 300));
    const routedBefore = a.routing.state().routed;
    for (const suffix of ["heartbeat", "alerts", "status", "command-results", "snapshot"]) await kiosk.client.publishAsync(`sos/v1/kiosks/kz-1/${suffix}`, suffix, { qos: 1 });
    await kiosk.client.publishAsync("sos/v1/kiosks/kz-1/call/up", "ring", { qos: 1 });
    await waitFor(() => onB.got.includes("ring"), "call/up crossed to node B");
    await new Promise((r) => setTimeout(r, 300));
    expect(heard).toEqual(["sos/v1/kiosks/kz-1/call/up"]);
    expect(onB.got).toEqual(["ring"]);
    expect(a.routing.state().routed - routedBefore).toBe(1);
  });
});

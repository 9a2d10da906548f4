/**
 * A subscription a node makes while its connection to Redis is being set up (TCP up, the handshake
 * not answered yet: at the node's start, or after Redis or the network dropped it) reaches Redis.
 * ioredis writes a SUBSCRIBE at once in that state, and its ready check (INFO) is then refused on
 * the connection that became a subscriber: the connection is dropped and made again without that
 * subscription, silently. A node lost in this way, for example, another node's "pages" (so a page
 * there missed this node's kiosks' heartbeats), or a kiosk's call signalling from an operator on
 * another node. A real redis-server of the test's own, reached through a proxy that holds its
 * answers 1 s so that the set-up lasts long enough to subscribe in it.
 */
import type { Message } from "mqemitter";
import { describe, expect, it } from "vitest";
import { ClusterRouting } from "../../gateway/cluster/routing.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { deferCleanups, type Defer } from "../integration/cleanups.js";
import { freePort, waitFor } from "../integration/harness.js";

const REPLY_DELAY_MS = 1_000;

function routing(defer: Defer, nodeId: string, url: string): ClusterRouting {
  const r = new ClusterRouting({ url, nodeId }, new LogCapture().logger(nodeId));
  defer(() => new Promise<void>((done) => r.close(done)));
  return r;
}

/** Node A behind the slow proxy, node B straight on Redis (up). */
async function rig(defer: Defer): Promise<{ proxy: TcpProxy; a: ClusterRouting; b: ClusterRouting }> {
  const redis = await new TestRedis(await freePort()).start();
  defer(() => redis.stop());
  const proxy = new TcpProxy({ host: "127.0.0.1", port: redis.port });
  proxy.replyDelayMs = REPLY_DELAY_MS;
  const url = (await proxy.start()).replace("mqtt:", "redis:");
  defer(() => proxy.stop());
  const b = routing(defer, "gw-b", redis.url);
  await waitFor(() => b.state().up, "node B on Redis");
  const a = routing(defer, "gw-a", url);
  return { proxy, a, b };
}

/** What node A's listener on `topic` gets. */
function listen(node: ClusterRouting, topic: string): string[] {
  const got: string[] = [];
  node.on(topic, (message: Message, done: () => void) => {
    got.push(String(message.payload));
    done();
  });
  return got;
}

/** B publishes on `topic` every 200 ms until A's listener has a message (or 5 s pass). */
async function reachesA(b: ClusterRouting, topic: string, got: string[]): Promise<void> {
  for (let i = 0; i < 25 && got.length === 0; i += 1) {
    b.emit({ topic, payload: Buffer.from(`from B ${i}`) } as Message);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(got.length, `node A got nothing on ${topic} in 5 s: its subscription never reached Redis`).toBeGreaterThan(0);
}

/** Resolves once the proxy has taken `count` connections in all, and their clients saw TCP connect. */
async function connectionsAccepted(proxy: TcpProxy, count: number): Promise<void> {
  await waitFor(() => proxy.accepted >= count, `${count} connections through the proxy`, 10_000);
  await new Promise((r) => setTimeout(r, 20));
}

describe("a subscription made while its node connects to Redis", () => {
  const defer = deferCleanups();

  it("is not lost at the node's start", async () => {
    const { proxy, a, b } = await rig(defer);
    // Both of A's connections are up in TCP, their handshake's answers held by the proxy.
    await connectionsAccepted(proxy, 2);
    expect(a.state().up).toBe(false);
    const got = listen(a, "$SOS/console");
    await waitFor(() => a.state().up, "node A on Redis", 10_000);
    await reachesA(b, "$SOS/console", got);
  });

  it("is not lost while the node connects again, and the subscriptions it had come back too", async () => {
    const { proxy, a, b } = await rig(defer);
    await waitFor(() => a.state().up, "node A on Redis", 10_000);
    const before = listen(a, "sos/v1/kiosks/kz-1/commands");
    await reachesA(b, "sos/v1/kiosks/kz-1/commands", before);

    const accepted = proxy.accepted;
    proxy.cut();
    // A's two connections come back (ioredis retries within a few hundred ms), answers held again.
    await connectionsAccepted(proxy, accepted + 2);
    const during = listen(a, "sos/v1/kiosks/kz-2/commands");
    await waitFor(() => a.state().up, "node A back on Redis", 10_000);
    before.length = 0;
    await reachesA(b, "sos/v1/kiosks/kz-1/commands", before);
    await reachesA(b, "sos/v1/kiosks/kz-2/commands", during);
  });
});

/**
 * A node whose --cluster URL carries a wrong Redis password: the outage line says that Redis refused
 * the password (WRONGPASS), as it names a refused connection or an unknown host, instead of "no
 * answer". The subscriber connection runs without a ready check and says "ready" before Redis has
 * answered its AUTH: that must not wipe what the refusal said. A real redis-server with a password.
 */
import { describe, expect, it } from "vitest";
import { ClusterRouting } from "../../gateway/cluster/routing.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { TestRedis } from "../fixtures/redis-server.js";
import { deferCleanups } from "../integration/cleanups.js";
import { freePort, waitFor } from "../integration/harness.js";

const DOWN = "cluster routing down since this node started (Redis unreachable, or refusing this node: check --cluster / SOS_CLUSTER_URL and its password): this node's kiosks and pages are served, messages to other nodes are not routed until it answers";

describe("a wrong Redis password", () => {
  const defer = deferCleanups();

  it("is named in the routing outage line (WRONGPASS), and the password is not", async () => {
    const redis = await new TestRedis(await freePort(), ["--requirepass", "the-right-password"]).start();
    defer(() => redis.stop());
    const logs = new LogCapture();
    const routing = new ClusterRouting({ url: `redis://:not-the-password@127.0.0.1:${redis.port}`, nodeId: "gw-a", startGraceMs: 1_000 }, logs.logger("gw-a"));
    defer(() => new Promise<void>((r) => routing.close(() => r())));
    await waitFor(() => logs.find(DOWN).length > 0, "the outage said", 5_000);
    const [line] = logs.find(DOWN);
    expect(String(line?.reason)).toMatch(/WRONGPASS/);
    expect(JSON.stringify(line)).not.toContain("not-the-password");
    expect(routing.state().up).toBe(false);
  });
});

/**
 * A console's event stream (GET /api/events) and MQTT connection end with the session that opened
 * them: at logout, and when a newer login of the same operator pushes the session out. Another
 * session's stream stays open. Real gateway, real HTTP and mqtt.js.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir, waitFor } from "./harness.js";
import { addTestOperator, connectOperatorWs, login, OPERATOR_PASSWORD, openEventStream } from "./operator-harness.js";

describe("an event stream ends with its session", () => {
  const defer = deferCleanups();

  it("logout ends the session's event stream and MQTT connection at once; another session's stay open", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    await addTestOperator(gateway.dataDir, "bob");
    const alice = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    const bob = await login(gateway.httpPort, "bob", OPERATOR_PASSWORD);
    const aliceStream = openEventStream(gateway.httpPort, alice.cookie ?? "", defer);
    const bobStream = openEventStream(gateway.httpPort, bob.cookie ?? "", defer);
    await waitFor(() => aliceStream.data().includes(": connected") && bobStream.data().includes(": connected"), "both streams open");
    const creds = alice.body.data?.mqtt;
    const page = await connectOperatorWs(gateway.httpPort, { clientId: creds?.clientId, username: creds?.username, password: creds?.password });
    defer(() => page.endAsync(true));
    let pageClosed = false;
    page.on("close", () => (pageClosed = true));

    const out = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/logout`, { method: "POST", headers: { cookie: alice.cookie ?? "" } });
    expect(out.status).toBe(200);
    await waitFor(() => aliceStream.ended(), "alice's stream ended by her logout", 5_000);
    await waitFor(() => pageClosed, "alice's MQTT connection closed by her logout", 5_000);
    expect(gateway.logs.find("operator session ended: its MQTT connection closed")).toEqual([expect.objectContaining({ operator: "alice", why: "logout" })]);
    // The browser's EventSource reconnects: refused now.
    expect((await fetch(`http://127.0.0.1:${gateway.httpPort}/api/events`, { headers: { cookie: alice.cookie ?? "" } })).status).toBe(401);
    expect(bobStream.ended()).toBe(false);
  });

  it("a session pushed out by newer logins of the same operator (the per-operator cap) loses its stream", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { operators: { maxSessionsPerOperator: 2 } });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    const first = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    const stream = openEventStream(gateway.httpPort, first.cookie ?? "", defer);
    await waitFor(() => stream.data().includes(": connected"), "the stream open");
    await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    expect(stream.ended()).toBe(false);
    await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    await waitFor(() => stream.ended(), "the oldest session's stream ended", 5_000);
  });
});

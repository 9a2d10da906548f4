/**
 * A gateway restart (a deploy, a crash, a power cut) logs no operator out: the same cookie answers
 * /api/session and the same MQTT token connects over the WebSocket. A session ended before the
 * restart (logout, operator removed) stays ended. Real gateway, real SQLite, real HTTP, real mqtt.js.
 */
import { describe, expect, it } from "vitest";
import { runRemove } from "../../scripts/commands/operator.js";
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir, type TestGateway } from "./harness.js";
import { addTestOperator, connectOperatorWs, get, login, type LoginData, OPERATOR_PASSWORD, refusal } from "./operator-harness.js";

describe("an operator session across a gateway restart", () => {
  const defer = deferCleanups();

  async function gatewayOn(dataDir: string): Promise<TestGateway> {
    const gateway = await startTestGateway(dataDir);
    defer(() => gateway.stop());
    return gateway;
  }

  async function firstGateway(): Promise<TestGateway> {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await gatewayOn(`${dir.path}/gw`);
    await addTestOperator(gateway.dataDir, "alice");
    await addTestOperator(gateway.dataDir, "boris");
    return gateway;
  }

  async function sessionData(gateway: TestGateway, cookie: string): Promise<{ status: number; data?: LoginData }> {
    const res = await get(gateway.httpPort, "/api/session", cookie);
    return { status: res.status, data: ((await res.json()) as { data?: LoginData }).data };
  }

  function connectWithToken(gateway: TestGateway, mqtt: LoginData["mqtt"]): ReturnType<typeof connectOperatorWs> {
    return connectOperatorWs(gateway.httpPort, { clientId: mqtt.clientId, username: mqtt.username, password: mqtt.password });
  }

  it("keeps the session: the same cookie answers /api/session with the same MQTT credentials, which connect and subscribe to alarms", async () => {
    const before = await firstGateway();
    const reply = await login(before.httpPort, "alice", OPERATOR_PASSWORD);
    expect(reply.status).toBe(200);
    const cookie = reply.cookie ?? "";
    const loginData = reply.body.data as LoginData;
    await before.stop();

    const after = await gatewayOn(before.dataDir);
    expect(after.logs.find("operator sessions restored")).toEqual([expect.objectContaining({ sessions: 1 })]);
    const resumed = await sessionData(after, cookie);
    expect(resumed.status).toBe(200);
    expect(resumed.data).toMatchObject({ operator: "alice", expiresAt: loginData.expiresAt, mqtt: loginData.mqtt });
    expect((await get(after.httpPort, "/api/alarms", cookie)).status).toBe(200);

    const page = await connectWithToken(after, loginData.mqtt);
    defer(() => page.endAsync(true));
    const granted = await page.subscribeAsync(OPERATOR_ALARMS_TOPIC, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    // Another operator's name with alice's token is refused, after the restart as before.
    const wrongName = await refusal(connectOperatorWs(after.httpPort, { clientId: "operator:boris:1", username: "operator:boris", password: loginData.mqtt.password }));
    expect([4, 5]).toContain(wrongName?.code);

    for (const secret of [cookie.split("=")[1] ?? "", loginData.mqtt.password]) {
      expect(secret.length).toBeGreaterThan(40);
      expect([...before.logs.raw, ...after.logs.raw].join("\n")).not.toContain(secret);
    }
  });

  it("a logout before the restart stays a logout: the cookie and the MQTT token are refused after it", async () => {
    const before = await firstGateway();
    const alice = await login(before.httpPort, "alice", OPERATOR_PASSWORD);
    const boris = await login(before.httpPort, "boris", OPERATOR_PASSWORD);
    const out = await fetch(`http://127.0.0.1:${before.httpPort}/api/logout`, { method: "POST", headers: { cookie: alice.cookie ?? "" } });
    expect(out.status).toBe(200);
    await before.stop();

    const after = await gatewayOn(before.dataDir);
    expect((await sessionData(after, alice.cookie ?? "")).status).toBe(401);
    const err = await refusal(connectWithToken(after, (alice.body.data as LoginData).mqtt));
    expect([4, 5]).toContain(err?.code);
    // Boris, who did not log out, is still logged in.
    expect((await sessionData(after, boris.cookie ?? "")).status).toBe(200);
  });

  it("an operator removed while the gateway was down (sos operator remove) is not logged in after the restart", async () => {
    const before = await firstGateway();
    const alice = await login(before.httpPort, "alice", OPERATOR_PASSWORD);
    await before.stop();
    await runRemove("alice", { dataDir: before.dataDir });

    const after = await gatewayOn(before.dataDir);
    expect(after.logs.find("operator sessions restored")).toEqual([expect.objectContaining({ sessions: 0 })]);
    expect((await sessionData(after, alice.cookie ?? "")).status).toBe(401);
    expect(await refusal(connectWithToken(after, (alice.body.data as LoginData).mqtt))).toBeDefined();
  });
});

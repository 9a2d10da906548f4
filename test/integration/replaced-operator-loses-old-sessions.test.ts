/**
 * `sos operator add NAME --force` (a leaked password, a demotion) ends the operator's old sessions:
 * the old cookie answers 401, the old MQTT token is refused and the page's live MQTT connection is cut
 * within a poll, and a restart does not bring them back, while other operators keep theirs.
 * Real gateway, real SQLite, real HTTP, real mqtt.js over the WebSocket, the built CLI as a process
 * (dist/scripts/sos.js: `npm run build` first, npm test does).
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { spawnSos, startTestGateway, tempDir, type TestGateway, waitFor } from "./harness.js";
import { addTestOperator, connectOperatorWs, get, login, type LoginData, type LoginReply, OPERATOR_PASSWORD, refusal } from "./operator-harness.js";

const NEW_PASSWORD = "a brand new password after the leak";

/** `printf '%s\n' "$PASSWORD" | sos operator add NAME --data-dir DIR --password-stdin --force [--role ROLE]`, as a process. */
async function replaceOperator(dataDir: string, name: string, password: string, role?: string): Promise<void> {
  const sos = spawnSos(["operator", "add", name, "--data-dir", dataDir, "--password-stdin", "--force", ...(role === undefined ? [] : ["--role", role])]);
  sos.child.stdin?.end(`${password}\n`);
  const { code } = await sos.exited;
  expect({ code, stderr: sos.stderr }).toEqual({ code: 0, stderr: [] });
}

describe("an operator given a new password or role", () => {
  const defer = deferCleanups();

  async function gatewayOn(dataDir: string): Promise<TestGateway> {
    const gateway = await startTestGateway(dataDir);
    defer(() => gateway.stop());
    return gateway;
  }

  async function withOperators(): Promise<{ gateway: TestGateway; anna: LoginReply; boris: LoginReply }> {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await gatewayOn(`${dir.path}/gw`);
    await addTestOperator(gateway.dataDir, "anna");
    await addTestOperator(gateway.dataDir, "boris");
    const anna = await login(gateway.httpPort, "anna", OPERATOR_PASSWORD);
    const boris = await login(gateway.httpPort, "boris", OPERATOR_PASSWORD);
    expect([anna.status, boris.status]).toEqual([200, 200]);
    return { gateway, anna, boris };
  }

  const mqttOf = (reply: LoginReply): LoginData["mqtt"] => (reply.body.data as LoginData).mqtt;
  const connectWithToken = (gateway: TestGateway, mqtt: LoginData["mqtt"]): ReturnType<typeof connectOperatorWs> =>
    connectOperatorWs(gateway.httpPort, { clientId: mqtt.clientId, username: mqtt.username, password: mqtt.password });
  const status = async (gateway: TestGateway, cookie: string | undefined): Promise<number> => (await get(gateway.httpPort, "/api/session", cookie)).status;

  it("loses the old cookie, MQTT token and live page connection within a poll, and they stay ended after a restart", async () => {
    const { gateway, anna, boris } = await withOperators();
    const annaPage = await connectWithToken(gateway, mqttOf(anna));
    defer(() => annaPage.endAsync(true));
    const borisPage = await connectWithToken(gateway, mqttOf(boris));
    defer(() => borisPage.endAsync(true));
    let annaClosed = false;
    let borisClosed = false;
    annaPage.on("close", () => (annaClosed = true));
    borisPage.on("close", () => (borisClosed = true));

    await replaceOperator(gateway.dataDir, "anna", NEW_PASSWORD);
    const replacedAt = Date.now();
    await waitFor(async () => (await status(gateway, anna.cookie)) === 401, "anna's old cookie refused", 2_500);
    await waitFor(() => annaClosed, "anna's page disconnected", 2_500);
    expect(Date.now() - replacedAt).toBeLessThan(2_500);
    expect([4, 5]).toContain((await refusal(connectWithToken(gateway, mqttOf(anna))))?.code);
    expect(gateway.logs.find("operator changed (new password or role): session ended")).toEqual([expect.objectContaining({ operator: "anna", mqttCut: true })]);
    // Boris is untouched; anna logs in with the new password only.
    expect(await status(gateway, boris.cookie)).toBe(200);
    expect(borisClosed).toBe(false);
    expect((await login(gateway.httpPort, "anna", OPERATOR_PASSWORD)).status).toBe(401);
    const again = await login(gateway.httpPort, "anna", NEW_PASSWORD);
    expect(again.status).toBe(200);

    await gateway.stop();
    const after = await gatewayOn(gateway.dataDir);
    expect(await status(after, anna.cookie)).toBe(401);
    expect(await refusal(connectWithToken(after, mqttOf(anna)))).toBeDefined();
    expect(await status(after, again.cookie)).toBe(200);
    expect(await status(after, boris.cookie)).toBe(200);
  });

  it("replaced while the gateway is down (a demotion from admin): the old session is not restored", async () => {
    const { gateway, boris } = await withOperators();
    await replaceOperator(gateway.dataDir, "carla", OPERATOR_PASSWORD, "admin");
    const carla = await login(gateway.httpPort, "carla", OPERATOR_PASSWORD);
    expect(carla.body.data).toMatchObject({ role: "admin" });
    await gateway.stop();

    // The same password, the operator role.
    await replaceOperator(gateway.dataDir, "carla", OPERATOR_PASSWORD, "operator");
    const after = await gatewayOn(gateway.dataDir);
    expect(after.logs.find("operator sessions restored")).toEqual([expect.objectContaining({ sessions: 2 })]);
    expect(await status(after, carla.cookie)).toBe(401);
    expect(await refusal(connectWithToken(after, mqttOf(carla)))).toBeDefined();
    expect((await get(after.httpPort, "/api/admin/operators", carla.cookie)).status).toBe(401);
    expect(await status(after, boris.cookie)).toBe(200);
  });
});

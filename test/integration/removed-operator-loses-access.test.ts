import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir, waitFor } from "./harness.js";
import { addTestOperator, connectOperatorWs, get, login, OPERATOR_PASSWORD } from "./operator-harness.js";

describe("a removed operator", () => {
  const defer = deferCleanups();

  it("loses the console session and the page's MQTT connection within a poll, while other operators keep theirs", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "anna");
    await addTestOperator(gateway.dataDir, "boris");
    const anna = await login(gateway.httpPort, "anna", OPERATOR_PASSWORD);
    const boris = await login(gateway.httpPort, "boris", OPERATOR_PASSWORD);
    const mqtt = anna.body.data?.mqtt;
    const page = await connectOperatorWs(gateway.httpPort, { clientId: mqtt?.clientId, username: mqtt?.username, password: mqtt?.password, reconnectPeriod: 0 });
    defer(() => page.endAsync(true));
    let closed = false;
    page.on("close", () => (closed = true));
    expect((await get(gateway.httpPort, "/api/alarms", anna.cookie)).status).toBe(200);

    // `sos operator remove anna`, from another process, writes the store.
    expect(await gateway.store.removeOperator("anna")).toBe(true);
    await waitFor(async () => (await get(gateway.httpPort, "/api/alarms", anna.cookie)).status === 401, "anna's session ended", 5_000);
    await waitFor(() => closed, "anna's page disconnected", 5_000);
    expect(gateway.logs.find("operator removed: session ended", (l) => l.operator === "anna")).toHaveLength(1);
    expect((await get(gateway.httpPort, "/api/alarms", boris.cookie)).status).toBe(200);
  });
});

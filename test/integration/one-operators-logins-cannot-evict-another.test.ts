/**
 * Sessions are capped per operator: one operator logging in again and again (a script, a stolen
 * password) ends only that operator's own oldest sessions, never another operator's. Real gateway,
 * real HTTP logins.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";
import { addTestOperator, get, login, OPERATOR_PASSWORD } from "./operator-harness.js";

describe("one operator's logins cannot evict another's session", () => {
  const defer = deferCleanups();

  it("twelve logins of bob past his cap of 3 end his oldest nine; alice stays logged in", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { operators: { maxSessionsPerOperator: 3, maxFailedLoginsPerMinute: 100 } });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    await addTestOperator(gateway.dataDir, "bob");
    const alice = (await login(gateway.httpPort, "alice", OPERATOR_PASSWORD)).cookie ?? "";
    const bob: string[] = [];
    for (let i = 0; i < 12; i += 1) bob.push((await login(gateway.httpPort, "bob", OPERATOR_PASSWORD)).cookie ?? "");

    expect((await get(gateway.httpPort, "/api/session", alice)).status).toBe(200);
    const live = [];
    for (const cookie of bob) live.push((await get(gateway.httpPort, "/api/session", cookie)).status);
    expect(live).toEqual([...Array<number>(9).fill(401), 200, 200, 200]);
  });
});

/**
 * Behind a reverse proxy every request comes from the proxy's address. With the proxy listed in
 * http.trustedProxies, the failed-login limit counts the client named by X-Forwarded-For, so one
 * attacker does not lock every operator out; /metrics without a token is refused to a forwarded
 * request. Without the list, X-Forwarded-For changes nothing (anyone could send it), and a
 * forwarded request to /metrics is not taken as local. Real gateway, real HTTP.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";
import { addTestOperator, OPERATOR_PASSWORD } from "./operator-harness.js";

describe("client addresses behind a reverse proxy", () => {
  const defer = deferCleanups();

  async function gatewayWith(trustedProxies: string[]) {
    const dir = tempDir();
    defer(() => dir.remove());
    // No account slowdown: the per-address limit alone is under test.
    const gateway = await startTestGateway(`${dir.path}/gw`, { http: { trustedProxies }, operators: { accountSlowdown: { freeFailures: 1_000 } } });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    const base = `http://127.0.0.1:${gateway.httpPort}`;
    const login = (password: string, forwardedFor?: string, name = "alice") =>
      fetch(`${base}/api/login`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }) },
        body: JSON.stringify({ name, password }),
      }).then((r) => r.status);
    const metrics = (headers: Record<string, string> = {}) => fetch(`${base}/metrics`, { headers }).then((r) => r.status);
    return { gateway, login, metrics };
  }

  it("with the proxy trusted: an attacker's failed logins limit the attacker's address, not the operator's behind the same proxy", async () => {
    const { login, metrics } = await gatewayWith(["127.0.0.1"]);
    const attacker = "203.0.113.9";
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => login(`guess-${i}`, attacker, "mallory")));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(await login("guess", attacker, "mallory")).toBe(429);
    // The operator's own address, as the proxy appends it (a client-sent entry on the left is not believed).
    expect(await login(OPERATOR_PASSWORD, `${attacker}, 198.51.100.7`)).toBe(200);
    expect(await login("wrong", `198.51.100.7, ${attacker}`)).toBe(429);
    expect(await metrics({ "x-forwarded-for": attacker })).toBe(403);
    expect(await metrics()).toBe(200);
  });

  it("without it: X-Forwarded-For changes no address (anyone could send it), and a forwarded /metrics request is not local", async () => {
    const { login, metrics } = await gatewayWith([]);
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => login(`guess-${i}`, `198.51.100.${i}`, "mallory")));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(await login(OPERATOR_PASSWORD, "198.51.100.99")).toBe(429);
    expect(await metrics({ "x-forwarded-for": "203.0.113.9" })).toBe(403);
    expect(await metrics({ forwarded: "for=203.0.113.9" })).toBe(403);
    expect(await metrics()).toBe(200);
  });
});

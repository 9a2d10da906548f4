/**
 * Odd request paths are the client's fault: none answers 500 or logs a stack. `GET /\` and
 * `GET //[/api/session` (which WHATWG URL parsing turns into another host, or refuses) answer 400; a
 * malformed %-escape in an admin path answers 401 to someone not logged in (the role is checked
 * before the path is decoded) and 400 to an admin. A few hundred fuzzed paths over raw sockets.
 */
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";
import { rawStatus } from "./http-raw.js";
import { login } from "./operator-harness.js";

const request = (method: string, path: string, cookie?: string): string =>
  `${method} ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${cookie === undefined ? "" : `Cookie: ${cookie}\r\n`}${method === "POST" ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" : "\r\n"}`;

/** Deterministic odd paths: fixed nasties, then pieces glued by a small linear congruential generator. */
function oddPaths(count: number): string[] {
  const fixed = ["/\\", "//[/api/session", "//", "///", "//evil.example/api/session", "/\\evil", "/%", "/%zz", "/%00", "/%ff%fe", "/api/alarms/%zz", "/api/kiosks/%zz", "/api/alerts/%zz/snapshot.jpg",
    "/api/admin/kiosks/%zz/revoke", "/api/admin/kiosks/%E0%A4%A/revoke", "/..", "/../../etc/passwd", "/api/../api/session", "/?%zz", "/?a=%", "/#frag", "*", "http://evil.example/", "/[", "/]", "/@", "/:@:",
    "//[::1]:8080/x", "/api/events/%", "/app.js.map/%", "/%2e%2e/%2e%2e", "/\t", "/api/alarms/" + "a".repeat(70), "/" + "%41".repeat(500)];
  const pieces = ["/", "//", "\\", "%", "%zz", "%2f", "%5c", "[", "]", "@", ":", "?", "#", "..", ".", "api", "admin", "alarms", "kiosks", "session", "login", "metrics", "mqtt", "events", "revoke", "~", "!", "$", "'", "(", ")", "*", "+", ",", ";", "=", "é", "\u00ff", "{", "}", "|", "^", "`"];
  const out = new Set(fixed);
  let seed = 12_345;
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor(seed / 65_536) % n; // the high bits: the low ones of an LCG repeat quickly
  };
  while (out.size < count) {
    let path = next(4) === 0 ? "" : "/";
    const length = 1 + next(8);
    for (let i = 0; i < length; i += 1) path += pieces[next(pieces.length)] ?? "";
    // Bytes outside visible ASCII are sent percent-encoded, as a client would (Node refuses them raw).
    out.add(path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)));
  }
  return [...out];
}

describe("odd request paths answer 400, never 500", () => {
  const defer = deferCleanups();

  it("fuzzed paths with GET and POST, logged out and as an admin: 4xx (or a page), no 500, no stack in the log", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { operators: { maxFailedLoginsPerMinute: 1_000 }, limits: { httpConnectionsPerAddress: 0, httpConnections: 0 } });
    defer(() => gateway.stop());
    await gateway.store.putOperator({ name: "root", passwordHash: await hashSecret("an admin password 0123"), role: "admin" }, { replace: false, now: new Date() });
    const admin = (await login(gateway.httpPort, "root", "an admin password 0123")).cookie;

    const port = gateway.httpPort;
    expect(await rawStatus(port, request("GET", "/\\"))).toBe(400);
    expect(await rawStatus(port, request("GET", "//[/api/session"))).toBe(400);
    expect(await rawStatus(port, request("POST", "/api/admin/kiosks/%zz/revoke"))).toBe(401);
    expect(await rawStatus(port, request("POST", "/api/admin/kiosks/%zz/revoke", admin))).toBe(400);

    const statuses = new Map<string, number | "closed">();
    for (const path of oddPaths(300)) {
      for (const [method, cookie] of [["GET", undefined], ["POST", undefined], ["GET", admin], ["POST", admin]] as const) {
        statuses.set(`${method} ${path}${cookie === undefined ? "" : " (admin)"}`, await rawStatus(port, request(method, path, cookie)));
      }
    }
    const serverErrors = [...statuses].filter(([, status]) => status === "closed" || status >= 500);
    expect(serverErrors).toEqual([]);
    expect(statuses.size).toBeGreaterThanOrEqual(1_000);
    expect(gateway.logs.find("request failed")).toEqual([]);
    expect(gateway.logs.raw.join("\n")).not.toContain("    at ");
  }, 120_000);
});

/**
 * The console page's CSP lets it connect to the gateway only: `connect-src 'self'` plus the
 * gateway's own ws:// origin (the Host it was loaded from), not any ws:/wss: host. A Host that is not
 * a plain host[:port] is not copied into the header. Development serves the source maps.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";

function pageCsp(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { host } }, (res) => {
      res.resume();
      resolve(String(res.headers["content-security-policy"]));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the console's CSP names only the gateway", () => {
  const defer = deferCleanups();

  it("connect-src is 'self' and ws://<its host>; an odd Host adds nothing; source maps are served in dev", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    const csp = await pageCsp(gateway.httpPort, `127.0.0.1:${gateway.httpPort}`);
    const connect = csp.split("; ").find((d) => d.startsWith("connect-src"));
    expect(connect).toBe(`connect-src 'self' ws://127.0.0.1:${gateway.httpPort}`);
    expect(await pageCsp(gateway.httpPort, "[::1]:8080")).toContain("connect-src 'self' ws://[::1]:8080;");
    const odd = await pageCsp(gateway.httpPort, "evil.example; script-src *");
    expect(odd).toContain("connect-src 'self';");
    expect(odd).not.toContain("evil");
    expect((await fetch(`http://127.0.0.1:${gateway.httpPort}/app.js.map`)).status).toBe(200);
  });
});

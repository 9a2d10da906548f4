/**
 * On HTTPS every answer carries Strict-Transport-Security, so a browser that has seen the console
 * once never goes back to plain HTTP for it (no downgrade on a hostile network). In the production
 * profile the console's source maps are not served, and the page's CSP lets it connect only to the
 * gateway's own wss:// origin. Real gateway with a real CA.
 */
import { describe, expect, it } from "vitest";
import { httpsRequest } from "../../scripts/lib/https.js";
import { deferCleanups } from "./cleanups.js";
import { tempDir } from "./harness.js";
import { startSecureGateway } from "./security/rig.js";

describe("HTTPS sends HSTS", () => {
  const defer = deferCleanups();

  it("on pages, API answers and errors; production serves no source maps and names only wss://<host> in connect-src", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startSecureGateway(dir.path, { profile: "production" });
    defer(() => gateway.stop());
    const ask = (path: string): ReturnType<typeof httpsRequest> => httpsRequest(new URL(path, gateway.httpsBase), { method: "GET", ca: gateway.caCertPem });
    for (const path of ["/healthz", "/", "/api/session", "/no-such-thing"]) {
      expect((await ask(path)).headers["strict-transport-security"], path).toBe("max-age=31536000");
    }
    const page = await ask("/");
    expect(page.status).toBe(200);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain(`connect-src 'self' wss://127.0.0.1:${gateway.httpPort};`);
    expect(csp).not.toMatch(/ ws: | wss: |ws:;|wss:;/);
    expect(page.text).toMatch(/src="\/?app\.js"/);
    expect((await ask("/app.js")).status).toBe(200);
    expect((await ask("/app.js.map")).status).toBe(404);
  });
});

/**
 * /metrics is not for anyone on the console's port: with `metrics.token` (SOS_METRICS_TOKEN) it
 * answers only `Authorization: Bearer <token>`, loopback included (a reverse proxy on the same
 * machine makes every request look local); without one, only requests from loopback.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { isLoopback, metricsRoutes } from "../../gateway/http/metrics-routes.js";
import { HttpError, type RequestContext } from "../../gateway/http/respond.js";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";

const TOKEN = "metrics-token-0123456789abcdef";

describe("/metrics needs a token, or loopback without one", () => {
  const defer = deferCleanups();

  it("with a token: 401 without it or with another, 200 with it", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { metrics: { token: TOKEN } });
    defer(() => gateway.stop());
    const url = `http://127.0.0.1:${gateway.httpPort}/metrics`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("METRICS_TOKEN");
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("sos_http_refused_connections_total");
    expect(gateway.logs.raw.join("\n")).not.toContain(TOKEN);
  });

  it("without a token: served to loopback only (403 to any other address)", async () => {
    const route = metricsRoutes({ render: () => Promise.resolve({ body: "x 1\n", contentType: "text/plain" }) });
    const ask = async (address: string): Promise<number> => {
      let status = 0;
      const res = { writeHead: (s: number) => (status = s), end: () => undefined } as unknown as ServerResponse;
      const ctx: RequestContext = { req: { headers: {} } as IncomingMessage, res, method: "GET", path: "/metrics", query: new URLSearchParams(), address, forwardedUntrusted: false };
      try {
        await route(ctx);
      } catch (err) {
        if (err instanceof HttpError) return err.status;
        throw err;
      }
      return status;
    };
    for (const address of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"]) expect(await ask(address), address).toBe(200);
    for (const address of ["10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "2001:db8::1", "fe80::1"]) expect(await ask(address), address).toBe(403);
    expect(isLoopback("128.0.0.1")).toBe(false);
  });
});

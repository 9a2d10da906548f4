/**
 * GET /metrics: Prometheus' text format. It names no kiosk and no secret, but says how the fleet and
 * the gateway are doing, so it is not for anyone on the console's port: with a token configured
 * (`metrics.token`, SOS_METRICS_TOKEN) only `Authorization: Bearer <token>` is served (401 otherwise,
 * from anywhere, loopback included: a reverse proxy on the same machine makes every request look
 * local); without one, only requests from loopback (a Prometheus on the gateway's machine; 403).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { RouteGroup } from "./respond.js";
import { HttpError, requireMethod } from "./respond.js";

export interface MetricsSource {
  render(): Promise<{ body: string; contentType: string }>;
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s).digest();

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

export function metricsRoutes(metrics: MetricsSource, options: { token?: string | undefined } = {}): RouteGroup {
  const expected = options.token === undefined ? undefined : sha256(options.token);
  return async (ctx) => {
    if (ctx.path !== "/metrics") return false;
    requireMethod(ctx, "GET", "HEAD");
    if (expected !== undefined) {
      const header = ctx.req.headers.authorization ?? "";
      const given = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      // Compared as digests: equal lengths, constant time.
      if (given === undefined || !timingSafeEqual(sha256(given), expected)) {
        throw new HttpError(401, "METRICS_TOKEN", "send the metrics token: Authorization: Bearer <metrics.token>", { "www-authenticate": 'Bearer realm="metrics"' });
      }
    } else if (!isLoopback(ctx.address) || ctx.forwardedUntrusted) {
      // A request a proxy on this machine forwarded comes from loopback too: its forwarding headers say it is not local.
      throw new HttpError(403, "METRICS_LOOPBACK_ONLY", "metrics are served to this machine only: configure a token (SOS_METRICS_TOKEN) to scrape from elsewhere");
    }
    const { body, contentType } = await metrics.render();
    ctx.res.writeHead(200, { "content-type": contentType, "cache-control": "no-store", "content-length": String(Buffer.byteLength(body)) });
    ctx.res.end(ctx.method === "HEAD" ? undefined : body);
    return true;
  };
}

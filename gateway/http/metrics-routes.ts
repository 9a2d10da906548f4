/** GET /metrics: Prometheus' text format (no login: it names no kiosk and no secret; keep the HTTP port inside). */
import type { RouteGroup } from "./respond.js";
import { requireMethod } from "./respond.js";

export interface MetricsSource {
  render(): Promise<{ body: string; contentType: string }>;
}

export function metricsRoutes(metrics: MetricsSource): RouteGroup {
  return async (ctx) => {
    if (ctx.path !== "/metrics") return false;
    requireMethod(ctx, "GET", "HEAD");
    const { body, contentType } = await metrics.render();
    ctx.res.writeHead(200, { "content-type": contentType, "cache-control": "no-store", "content-length": String(Buffer.byteLength(body)) });
    ctx.res.end(ctx.method === "HEAD" ? undefined : body);
    return true;
  };
}

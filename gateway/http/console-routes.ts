/**
 * The operator page: static files from gateway/console/operator/ at /, and mqtt.js's browser ES
 * module from node_modules at /vendor/mqtt.esm.js (no CDN: the control room may have no internet).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { RouteGroup } from "./respond.js";
import { requireMethod } from "./respond.js";

/** The page is served from the source tree, also when the gateway runs from dist/. */
export function findConsoleDir(): string {
  const here = import.meta.dirname;
  const candidates = [resolve(here, "../console/operator"), resolve(here, "../../../gateway/console/operator")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (found === undefined) throw new Error(`the operator page is missing: looked in ${candidates.join(", ")}`);
  return found;
}

function mqttBrowserBundle(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mqtt/package.json")), "dist", "mqtt.esm.js");
}

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/alarms.js": { file: "alarms.js", type: "text/javascript; charset=utf-8" },
  "/call.js": { file: "call.js", type: "text/javascript; charset=utf-8" },
  "/ringer.js": { file: "ringer.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

const VENDOR_MQTT = "/vendor/mqtt.esm.js";

/** Only our own origin: scripts, styles, images, and the MQTT WebSocket. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' ws: wss:",
  // mqtt.js keeps its keepalive timer in a blob: worker, which background tabs do not throttle.
  "worker-src blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function consoleRoutes(dir = findConsoleDir()): RouteGroup {
  let vendor: Promise<Buffer> | undefined;
  return async (ctx) => {
    const entry = FILES[ctx.path];
    const isVendor = ctx.path === VENDOR_MQTT;
    if (entry === undefined && !isVendor) return false;
    requireMethod(ctx, "GET", "HEAD");
    let body: Buffer;
    let type: string;
    if (isVendor) {
      vendor ??= readFile(mqttBrowserBundle());
      body = await vendor;
      type = "text/javascript; charset=utf-8";
    } else {
      // Read on every request (they are small): an edited page shows without a gateway restart.
      body = await readFile(join(dir, entry?.file ?? "index.html"));
      type = entry?.type ?? "text/html; charset=utf-8";
    }
    ctx.res.writeHead(200, {
      "content-type": type,
      "content-length": String(body.length),
      "cache-control": isVendor ? "public, max-age=3600" : "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      ...(type.startsWith("text/html") ? { "content-security-policy": CSP, "x-frame-options": "DENY" } : {}),
    });
    ctx.res.end(ctx.method === "HEAD" ? undefined : body);
    return true;
  };
}

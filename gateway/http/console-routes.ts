/**
 * The operator console: the static files esbuild builds from gateway/console/operator/ into
 * dist/console/ (`npm run build`; scripts/build-console.ts). One HTML page, one script bundle (mqtt.js
 * included) and one stylesheet, all from our own origin: no CDN, the control room may have no internet.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { RouteGroup } from "./respond.js";
import { requireMethod } from "./respond.js";

/** dist/console/, from the gateway running in dist/ or from the sources (tests). */
export function findConsoleDir(): string {
  const here = import.meta.dirname;
  const candidates = [resolve(here, "../../console"), resolve(here, "../../dist/console")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (found === undefined) throw new Error(`the operator console is not built: run 'npm run build' (looked in ${candidates.join(", ")})`);
  return found;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  txt: "text/plain; charset=utf-8",
};

/** A built file's name: no folders, no dots but the extension's. */
const FILE = /^\/([a-z0-9-]+\.(?:html|js|css|txt)(?:\.map)?|[a-z0-9-]+\.js\.LEGAL\.txt)$/;

/** A Host header fit to be named in the CSP (a name or address and a port, nothing else). */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Only our own origin: scripts, styles, images, the event stream and the MQTT WebSocket, which
 * `connect-src` names as the gateway's own ws(s) origin (the Host the page was loaded from): no
 * other host can be reached from the page, even by injected script.
 */
const csp = (host: string | undefined, https: boolean): string =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self'${host !== undefined && HOST.test(host) ? ` ${https ? "wss" : "ws"}://${host}` : ""}`,
    // mqtt.js keeps its keepalive timer in a blob: worker, which background tabs do not throttle.
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");

export interface ConsoleRoutesOptions {
  readonly dir?: string;
  /** The production profile: source maps are not served (they would give out the console's sources). */
  readonly production?: boolean;
  /** The port speaks HTTPS: the WebSocket is wss://. */
  readonly https?: boolean;
}

export function consoleRoutes(options: ConsoleRoutesOptions = {}): RouteGroup {
  const dir = options.dir ?? findConsoleDir();
  return async (ctx) => {
    const name = ctx.path === "/" ? "index.html" : FILE.exec(ctx.path)?.[1];
    if (name === undefined || !existsSync(join(dir, name))) return false;
    if (options.production === true && name.endsWith(".map")) return false;
    requireMethod(ctx, "GET", "HEAD");
    // Read on every request (they are small): a rebuilt console shows without a gateway restart.
    const body = await readFile(join(dir, name));
    const type = TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream";
    ctx.res.writeHead(200, {
      "content-type": type,
      "content-length": String(body.length),
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      ...(type.startsWith("text/html") ? { "content-security-policy": csp(ctx.req.headers.host, options.https === true), "x-frame-options": "DENY" } : {}),
    });
    ctx.res.end(ctx.method === "HEAD" ? undefined : body);
    return true;
  };
}

/**
 * The gateway's HTTP port: liveness and readiness, and the route groups the features add (operator
 * login, snapshots, the operator page). WebSocket upgrades go to the handler given (MQTT at /mqtt).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { HttpError, type RequestContext, type RouteGroup, sendError, sendJson } from "./respond.js";

export interface Readiness {
  ready(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

/** Takes over an upgrade request it knows (returns true), or leaves it to be refused. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export interface HttpServerOptions {
  readonly routes?: readonly RouteGroup[];
  readonly upgrade?: UpgradeHandler;
  /** Serve HTTPS with this key and certificate chain (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export class HttpServer {
  private server: Server | undefined;
  private httpsServer: HttpsServer | undefined;

  constructor(
    private readonly readiness: Readiness,
    private readonly log: Logger,
    private readonly options: HttpServerOptions = {},
  ) {}

  async start(host: string, port: number): Promise<number> {
    const listener: RequestListener = (req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          if (!res.headersSent) sendError(res, err.status, err.code, err.message, err.headers);
          else res.destroy();
          return;
        }
        this.log.error({ err, method: req.method, path: pathOf(req) }, "request failed");
        if (!res.headersSent) sendError(res, 500, "INTERNAL", "the gateway could not answer this request; see its log");
        else res.destroy();
      });
    };
    const tls = this.options.tls;
    this.httpsServer = tls === undefined ? undefined : createHttpsServer({ key: tls.key, cert: tls.cert, minVersion: "TLSv1.2" }, listener);
    const server: Server = this.httpsServer ?? createServer(listener);
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      if (this.options.upgrade?.(req, socket, head) === true) return;
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") {
          reject(new SosError(ErrorCode.PortInUse, `HTTP port ${port} on ${host} is already in use: choose another with --http-port`));
        } else reject(err);
      });
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  /** Serves a renewed server certificate to new HTTPS handshakes (open connections keep theirs). */
  loadTls(tls: { readonly key: string; readonly cert: string }): void {
    this.httpsServer?.setSecureContext({ key: tls.key, cert: tls.cert, minVersion: "TLSv1.2" });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: RequestContext["res"]): Promise<void> {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const ctx: RequestContext = { req, res, method: req.method ?? "GET", path: url.pathname, query: url.searchParams, address: req.socket.remoteAddress ?? "unknown" };
    if (ctx.path === "/healthz" || ctx.path === "/readyz") return this.health(ctx);
    if (crossOrigin(req)) {
      return sendError(res, 403, "CROSS_ORIGIN", "a request that changes something must come from the console's own page (Origin differs from Host)");
    }
    for (const group of this.options.routes ?? []) {
      if (await group(ctx)) return;
    }
    sendError(res, 404, "NOT_FOUND", `no route ${ctx.path}`);
  }

  private async health(ctx: RequestContext): Promise<void> {
    const { res } = ctx;
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return sendError(res, 405, "METHOD_NOT_ALLOWED", "use GET", { allow: "GET, HEAD" });
    if (ctx.path === "/healthz") return sendJson(res, 200, { status: "ok" });
    try {
      const r = await this.readiness.ready();
      sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ok" : "error", data: r.checks });
    } catch (err) {
      this.log.error({ err }, "readiness check failed");
      sendError(res, 503, "NOT_READY", "readiness check failed");
    }
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?")[0] ?? "/";
}

/**
 * A state-changing request sent by a browser from another origin (CSRF): SameSite=Strict keeps the
 * cookie from other sites, not from another port or a sibling host. Browsers name the page's origin
 * in `Origin` on every POST; the CLI and kiosks send none, and are not affected.
 */
function crossOrigin(req: IncomingMessage): boolean {
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null" (a sandboxed or file: page) or garbage
  }
}

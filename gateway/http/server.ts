/**
 * The gateway's HTTP port: liveness and readiness, and the route groups the features add (operator
 * login, snapshots, the operator page). WebSocket upgrades go to the handler given (MQTT at /mqtt).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Socket } from "node:net";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { DEFAULT_REFUSAL_LOG, RefusalLog, type RefusalLogOptions } from "../broker/refusal-log.js";
import { answerClientError, applyTimeouts, checkingIntervalMs, HttpConnectionGuard, type HttpLimits, type HttpRefusal } from "./connection-guard.js";
import { HttpError, type RequestContext, type RouteGroup, sendError, sendJson } from "./respond.js";
import { clientAddress, normaliseAddress } from "./client-address.js";

export interface Readiness {
  ready(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

/**
 * Takes over an upgrade request it knows (returns true), or leaves it to be refused (404). `refuse`
 * logs (sampled) and counts a refusal it makes itself.
 */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, refuse: (reason: HttpRefusal, detail: string) => void) => boolean;

/** Limits used when none are given (the config's defaults). */
export const DEFAULT_HTTP_LIMITS: HttpLimits = { perAddress: 128, total: 1_024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

/** Sent on every HTTPS answer: browsers keep to HTTPS for this host for a year. */
const HSTS = "max-age=31536000";

export interface HttpServerOptions {
  readonly routes?: readonly RouteGroup[];
  readonly upgrade?: UpgradeHandler;
  /** Serve HTTPS with this key and certificate chain (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Connection limits and timeouts (connection-guard.ts). */
  readonly limits?: HttpLimits;
  readonly refusalLog?: RefusalLogOptions;
  /** Counts a connection refused or cut (the metric). */
  readonly onRefused?: (reason: HttpRefusal) => void;
  /** Reverse proxies whose X-Forwarded-For names the client (client-address.ts); exempt from the per-address connection cap. */
  readonly trustedProxies?: readonly string[];
}

export class HttpServer {
  private server: Server | undefined;
  private httpsServer: HttpsServer | undefined;
  private readonly refusals: RefusalLog;
  readonly guard: HttpConnectionGuard;
  private readonly trusted: ReadonlySet<string>;

  constructor(
    private readonly readiness: Readiness,
    private readonly log: Logger,
    private readonly options: HttpServerOptions = {},
  ) {
    this.refusals = new RefusalLog(log, options.refusalLog ?? DEFAULT_REFUSAL_LOG);
    this.trusted = new Set((options.trustedProxies ?? []).map(normaliseAddress));
    this.guard = new HttpConnectionGuard(options.limits ?? DEFAULT_HTTP_LIMITS, this.refusals, options.tls === undefined ? "http" : "https", options.onRefused, this.trusted);
  }

  async start(host: string, port: number): Promise<number> {
    const limits = this.options.limits ?? DEFAULT_HTTP_LIMITS;
    const listener: RequestListener = (req, res) => {
      if (this.httpsServer !== undefined) res.setHeader("strict-transport-security", HSTS);
      this.serve(req, res).catch((thrown: unknown) => {
        // A malformed percent-escape in a path a route decodes: the request's fault, not ours.
        const err = thrown instanceof URIError ? new HttpError(400, "BAD_PATH", "the request path is not valid (a malformed %-escape)") : thrown;
        if (err instanceof HttpError) {
          if (!res.headersSent) sendError(res, err.status, err.code, err.message, err.headers);
          else res.destroy();
          return;
        }
        // The client went away mid-request (or was cut for being slow): nothing to answer, nothing of ours failed.
        if (req.socket.destroyed || (err as NodeJS.ErrnoException | undefined)?.code === "ECONNRESET") {
          res.destroy();
          return;
        }
        this.log.error({ err, method: req.method, path: pathOf(req) }, "request failed");
        if (!res.headersSent) sendError(res, 500, "INTERNAL", "the gateway could not answer this request; see its log");
        else res.destroy();
      });
    };
    const tls = this.options.tls;
    const serverOptions = { connectionsCheckingInterval: checkingIntervalMs(limits) };
    this.httpsServer =
      tls === undefined ? undefined : createHttpsServer({ ...serverOptions, key: tls.key, cert: tls.cert, minVersion: "TLSv1.2", handshakeTimeout: limits.headersTimeoutMs }, listener);
    const server: Server = this.httpsServer ?? createServer(serverOptions, listener);
    applyTimeouts(server, limits);
    // Counted from the TCP accept (for HTTPS, before the handshake): a flood costs no TLS work.
    server.on("connection", (socket: Socket) => this.guard.admit(socket));
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(this.guard, err, socket));
    this.httpsServer?.on("tlsClientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code !== "ECONNRESET") this.guard.refused(err.code === "ERR_TLS_HANDSHAKE_TIMEOUT" ? "timeout" : "tls-handshake", socket.remoteAddress, err.message, { code: err.code ?? null });
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      const refuse = (reason: HttpRefusal, detail: string): void => this.guard.refused(reason, req.socket.remoteAddress, detail);
      if (this.options.upgrade?.(req, socket, head, refuse) === true) return;
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    this.server = server;
    this.refusals.start();
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") {
          reject(new SosError(ErrorCode.PortInUse, `HTTP port ${port} on ${host} is already in use: choose another with --http-port`));
        } else if (err.code === "ENOTFOUND" || err.code === "EADDRNOTAVAIL" || err.code === "EAI_AGAIN") {
          reject(new SosError(ErrorCode.ConfigInvalid, `cannot listen on ${host} (${err.code}): give --http-host an address or name of this machine (127.0.0.1, 0.0.0.0 for all)`));
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
    this.refusals.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: RequestContext["res"]): Promise<void> {
    const url = parseTarget(req.url);
    if (url === undefined) return sendError(res, 400, "BAD_PATH", "the request target must be a path starting with a single '/'");
    const client = clientAddress(req, this.trusted);
    const ctx: RequestContext = { req, res, method: req.method ?? "GET", path: url.pathname, query: url.searchParams, address: client.address, forwardedUntrusted: client.forwardedUntrusted };
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

/**
 * The request target as a path and query, or undefined when it is not an origin-form path: `//host`,
 * `/\\`, an absolute URL or anything WHATWG URL parsing would turn into another host or reject.
 */
export function parseTarget(target: string | undefined): URL | undefined {
  const raw = target ?? "/";
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return undefined;
  try {
    const url = new URL(raw, "http://gateway.invalid");
    return url.host === "gateway.invalid" ? url : undefined;
  } catch {
    return undefined;
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

/** The gateway's HTTP port: liveness and readiness now; metrics and the console come later. */
import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import { ErrorCode, SosError } from "../../shared/errors.js";

export interface Readiness {
  ready(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

export class HttpServer {
  private server: Server | undefined;

  constructor(
    private readonly readiness: Readiness,
    private readonly log: Logger,
  ) {}

  async start(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") return send(405, { status: "error", error: { code: "METHOD_NOT_ALLOWED", message: "use GET" } });
      if (path === "/healthz") return send(200, { status: "ok" });
      if (path === "/readyz") {
        this.readiness.ready().then(
          (r) => send(r.ready ? 200 : 503, { status: r.ready ? "ok" : "error", data: r.checks }),
          (err: unknown) => {
            this.log.error({ err }, "readiness check failed");
            send(503, { status: "error", error: { code: "NOT_READY", message: "readiness check failed" } });
          },
        );
        return;
      }
      send(404, { status: "error", error: { code: "NOT_FOUND", message: `no route ${path}` } });
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

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * MQTT over WebSocket at /mqtt on the HTTP port, for operator pages: the HTTP server's upgrade is
 * handed to ws (noServer), and each socket, as a stream, to the broker. Who may connect is the
 * broker's business (operators only, with a session's token; kiosks stay on TCP).
 *
 * A browser names the page that opens a WebSocket in `Origin`, and the same-origin policy does not
 * apply to WebSockets: an upgrade whose Origin is not the gateway's own (the request's Host, the
 * public URL or `http.allowedOrigins`) is refused with 403, so no other web page open in the control
 * room can reach the broker. Without Origin (a non-browser client: mqtt.js in Node, a test tool) the
 * upgrade goes on: such a client can send any Origin it likes anyway, and still needs a session token.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { createWebSocketStream, type WebSocket, WebSocketServer } from "ws";
import type { UpgradeHandler } from "./server.js";

export interface WebSocketBroker {
  handleWebSocket(stream: Duplex, req: IncomingMessage): void;
}

export class MqttWebSocket {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // Call signaling carries SDP (up to 64 KB); nothing an operator sends is larger.
    maxPayload: 512 * 1024,
    perMessageDeflate: false,
    // MQTT over WebSocket names the subprotocol "mqtt"; take it when offered.
    handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
  });

  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    private readonly broker: WebSocketBroker,
    private readonly path: string,
    private readonly log: Logger,
    /** Origins (besides the request's own Host) whose pages may connect. */
    allowedOrigins: readonly string[] = [],
  ) {
    this.allowedOrigins = new Set(allowedOrigins.map((o) => new URL(o).origin));
  }

  readonly upgrade: UpgradeHandler = (req, socket, head, refuse) => {
    if ((req.url ?? "").split("?")[0] !== this.path) return false;
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, this.allowedOrigins)) {
      refuse("cross-origin", `a WebSocket from another origin (${JSON.stringify((origin ?? "").slice(0, 200))}) is refused: only the gateway's own page may connect`);
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const stream = createWebSocketStream(ws);
      // Aedes listens for errors on the client; this one only keeps a reset socket from throwing.
      stream.on("error", (err) => this.log.debug({ err: { message: err.message }, address: req.socket.remoteAddress }, "websocket error"));
      this.broker.handleWebSocket(stream, req);
    });
    return true;
  };

  /** Closes every MQTT WebSocket (an upgraded socket is no longer the HTTP server's to close). */
  stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

/** Whether a WebSocket upgrade with this Origin may go on (see the file's comment). */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (a sandboxed or file: page) or garbage
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  return allowed.has(url.origin);
}

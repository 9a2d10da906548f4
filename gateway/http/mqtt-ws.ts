/**
 * MQTT over WebSocket at /mqtt on the HTTP port, for operator pages: the HTTP server's upgrade is
 * handed to ws (noServer), and each socket, as a stream, to the broker. Who may connect is the
 * broker's business (operators only; kiosks stay on TCP).
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

  constructor(
    private readonly broker: WebSocketBroker,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  readonly upgrade: UpgradeHandler = (req, socket, head) => {
    if ((req.url ?? "").split("?")[0] !== this.path) return false;
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

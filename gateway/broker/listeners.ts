/**
 * The broker's MQTT listeners: the plain one (password kiosks, demo and development) and MQTT over TLS
 * with client certificates required. Connections are rate-limited per address before anything else
 * (before the TLS handshake), and every socket's packets are size-checked from their headers.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import type { Aedes, Client } from "aedes";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { ServerTls } from "../pki/ca.js";
import { type ConnectionRateLimiter, watchPacketSize } from "./guard.js";
import type { HandshakeDeadline } from "./handshake-deadline.js";
import { type RefusalLog, TLS_HANDSHAKE_FAILED } from "./refusal-log.js";

export interface ListenerContext {
  readonly config: GatewayConfig;
  readonly bus: EventBus<GatewayEvents>;
  readonly connections: ConnectionRateLimiter;
  /** When each connection was accepted (a CONNECT read too late is refused: handshake-deadline.ts). */
  readonly handshakes: HandshakeDeadline;
  /** Where refusals are logged (sampled). */
  readonly refusals: RefusalLog;
  /** Every open connection, so that stop() can end those still authenticating. */
  readonly sockets: Set<Socket | Duplex>;
  readonly aedes: Aedes;
  /** Puts the packet gate in front of Aedes for a new connection. */
  readonly gate: (client: Client) => void;
  readonly tls?: ServerTls;
}

/**
 * The TLS listener's secure context: its key and chain, the CA client certificates must chain to.
 * The same at creation and at setSecureContext (a renewed server certificate), which replaces them all.
 */
export function secureContextOptions(tls: ServerTls): Pick<TlsOptions, "key" | "cert" | "ca" | "minVersion"> {
  return { key: tls.key, cert: tls.cert, ca: tls.ca, minVersion: "TLSv1.2" };
}

/** One MQTT listener: plain TCP (password kiosks) or TLS with client certificates required. */
export async function listenMqtt(kind: "mqtt" | "mqtts", ctx: ListenerContext): Promise<{ server: Server; port: number }> {
  const { bus, aedes, config } = ctx;
  const refused = new WeakSet<Socket>();
  const refuse = (socket: Socket, reason: string, label: string, extra: Record<string, unknown> = {}): void => {
    refused.add(socket);
    ctx.refusals.refused(label, { address: socket.remoteAddress, listener: kind, reason, ...extra });
    bus.emit("mqtt.refused", { what: "connection", reason: label });
    socket.destroy();
  };
  const onSocket = (socket: Socket): void => {
    ctx.sockets.add(socket);
    socket.once("close", () => ctx.sockets.delete(socket));
    ctx.gate(aedes.handle(socket));
    // After handle(): Aedes reads with read() on 'readable', so this listener sees each chunk first.
    watchPacketSize(socket, config.limits, (reason) => refuse(socket, reason, "packet-too-large"));
  };
  const admit = (socket: Socket): boolean => {
    if (ctx.connections.take(socket.remoteAddress ?? "unknown")) return true;
    refuse(socket, "too many connections from this address", "rate-limited");
    return false;
  };
  const tls = ctx.tls;
  let server: Server;
  if (kind === "mqtts" && tls !== undefined) {
    // rejectUnauthorized is false so that a refused certificate is logged with its reason (Node
    // would destroy the socket silently); nothing reaches Aedes unless the chain verified.
    const tlsServer = createTlsServer(
      { ...secureContextOptions(tls), requestCert: true, rejectUnauthorized: false, handshakeTimeout: 10_000 },
      (socket) => {
        if (!socket.authorized) {
          const peer = socket.getPeerCertificate();
          const none = peer === null || Object.keys(peer).length === 0;
          const code = String(socket.authorizationError);
          return refuse(socket, none ? "no client certificate" : `client certificate refused: ${code}`, none ? "tls-no-certificate" : tlsRefusalLabel(code), { cn: none ? null : (peer.subject?.CN ?? null) });
        }
        socket.setNoDelay(true);
        ctx.handshakes.secured(socket);
        onSocket(socket);
      },
    );
    // Before the handshake: a flood costs no TLS work.
    tlsServer.on("connection", (socket: Socket) => {
      if (!admit(socket)) return;
      ctx.handshakes.acceptUnderTls(socket);
      // Tracked from the start, so stop() also ends handshakes in progress.
      ctx.sockets.add(socket);
      socket.once("close", () => ctx.sockets.delete(socket));
    });
    tlsServer.on("tlsClientError", (err: Error & { code?: string }, socket) => {
      if (refused.has(socket)) return;
      ctx.refusals.refused("tls-handshake", { address: socket.remoteAddress, listener: kind, reason: err.message, code: err.code }, TLS_HANDSHAKE_FAILED);
      bus.emit("mqtt.refused", { what: "connection", reason: "tls-handshake" });
    });
    server = tlsServer;
  } else {
    // No Nagle: an alert or an ack is one small packet that must not wait for a delayed TCP ack.
    server = createServer({ noDelay: true }, (socket) => {
      if (!admit(socket)) return;
      ctx.handshakes.accept(socket);
      onSocket(socket);
    });
  }
  const { host, port } = kind === "mqtt" ? config.mqtt : config.mqtts;
  const flag = kind === "mqtt" ? "--mqtt-port" : "--mqtts-port";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(new SosError(ErrorCode.PortInUse, `MQTT port ${port} on ${host} is already in use (another broker, such as Mosquitto?): choose another with ${flag}`));
      } else if (err.code === "ENOTFOUND" || err.code === "EADDRNOTAVAIL" || err.code === "EAI_AGAIN") {
        reject(new SosError(ErrorCode.ConfigInvalid, `cannot listen on ${host} (${err.code}): give ${flag.replace("port", "host")} an address or name of this machine (127.0.0.1, 0.0.0.0 for all)`));
      } else reject(err);
    });
    // A deep accept queue: a reconnect storm must not overflow it (config.broker.listenBacklog).
    server.listen({ port, host, backlog: config.broker.listenBacklog }, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === "object" && address !== null ? address.port : port };
}

/** The kernel's cap on a listener's accept queue (Linux: net.core.somaxconn); undefined where it cannot be read. */
export function acceptQueueCap(path = "/proc/sys/net/core/somaxconn"): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A refused client certificate's metric label, from its verification error code. */
function tlsRefusalLabel(code: string): string {
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return "tls-certificate-expired";
  return "tls-certificate-untrusted";
}

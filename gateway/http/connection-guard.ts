/**
 * Limits on the HTTP(S) port, as the MQTT listeners have theirs (broker/guard.ts, listeners.ts):
 *
 * - open connections per source address (its /64 for IPv6) and in all, counted from the TCP accept
 *   (before any TLS work) to the socket's close, so a WebSocket at /mqtt counts for as long as it is
 *   open; a connection past either limit is closed at once. Once over half the total are open, an
 *   address may hold no more than PRESSED_PER_ADDRESS: eight addresses at their full share would
 *   otherwise fill the gateway;
 * - short timeouts (applied by Node's HTTP server, see `applyTimeouts`): headers (a socket that sends
 *   nothing is cut after it too, and for HTTPS the TLS handshake), the whole request (a trickled
 *   body), idle keep-alive. Upgraded sockets are no longer the HTTP server's: MQTT's keepalive
 *   watches them.
 *
 * Refusals and cuts are logged sampled (RefusalLog) and counted by reason
 * (`sos_http_refused_connections_total`, through the `refused` callback).
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CONNECTION_REFUSED, type RefusalLog, type SampledLine } from "../broker/refusal-log.js";
import { addressKey } from "../operators/limiter.js";
import { normaliseAddress } from "./client-address.js";

/** Connections an address may hold once over half the total are open (a control room's few consoles fit). */
export const PRESSED_PER_ADDRESS = 16;

const CONNECTION_CUT: SampledLine = { message: "connection cut", summary: "connections cut not logged one by one" };

export interface HttpLimits {
  /** 0 = no limit. */
  readonly perAddress: number;
  /** 0 = no limit. */
  readonly total: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/** Why a connection was refused or cut: the metric's `reason` label. */
export type HttpRefusal = "address-limit" | "global-limit" | "timeout" | "bad-request" | "tls-handshake" | "cross-origin";

export class HttpConnectionGuard {
  private readonly perAddress = new Map<string, number>();
  private open = 0;
  /** Sockets already answered for a client error (their peer's EOF after our answer is no second error). */
  readonly answered = new WeakSet<Duplex>();

  constructor(
    private readonly limits: HttpLimits,
    private readonly log: RefusalLog,
    private readonly listener: "http" | "https",
    private readonly counted: (reason: HttpRefusal) => void = () => undefined,
    /** Trusted reverse proxies: every console behind one comes from its address, so only the total cap applies to it. */
    private readonly trustedProxies: ReadonlySet<string> = new Set(),
  ) {}

  /** Open connections now (all addresses). */
  get size(): number {
    return this.open;
  }

  /** A new TCP connection: counted until it closes, or closed at once when over a limit. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? "unknown";
    const key = addressKey(address);
    const mine = this.perAddress.get(key) ?? 0;
    if (this.limits.total > 0 && this.open >= this.limits.total) {
      this.refuse(socket, "global-limit", `the gateway has ${this.open} HTTP connections open, its limit (limits.httpConnections)`);
      return false;
    }
    // Past half the total, each address may hold only a few more: a handful of addresses holding
    // idle sockets cannot fill the gateway and shut the operators out.
    const pressed = this.limits.total > 0 && this.open >= this.limits.total / 2;
    const cap = pressed && this.limits.perAddress > 0 ? Math.min(this.limits.perAddress, PRESSED_PER_ADDRESS) : this.limits.perAddress;
    if (cap > 0 && mine >= cap && !this.trustedProxies.has(normaliseAddress(address))) {
      const which = cap < this.limits.perAddress ? `${PRESSED_PER_ADDRESS} while over half of limits.httpConnections are open` : "limits.httpConnectionsPerAddress";
      this.refuse(socket, "address-limit", `${mine} HTTP connections open from this address, its limit (${which})`);
      return false;
    }
    this.open += 1;
    this.perAddress.set(key, mine + 1);
    socket.once("close", () => {
      this.open -= 1;
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(key);
      else this.perAddress.set(key, left);
    });
    return true;
  }

  /** Logs (sampled) and counts a connection refused or cut for `reason`. */
  refused(reason: HttpRefusal, address: string | undefined, detail: string, extra: Record<string, unknown> = {}): void {
    this.log.refused(reason, { address: address ?? "unknown", listener: this.listener, reason: detail, ...extra }, reason === "timeout" || reason === "bad-request" ? CONNECTION_CUT : CONNECTION_REFUSED);
    this.counted(reason);
  }

  private refuse(socket: Socket, reason: HttpRefusal, detail: string): void {
    socket.on("error", () => undefined);
    this.refused(reason, socket.remoteAddress, detail);
    socket.destroy();
  }
}

/** Node's own timeouts for headers, whole requests and keep-alive, checked often enough to matter. */
export function applyTimeouts(server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // No idle timeout on a socket in the middle of a response: the event stream is long and quiet.
  server.timeout = 0;
}

/** How often Node checks the header and request deadlines (a createServer option). */
export function checkingIntervalMs(limits: HttpLimits): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)));
}

/**
 * What Node would do with a client error (a deadline passed, a request it cannot parse), with the
 * line logged sampled and counted: 408 for a deadline, 431 for oversized headers, 400 otherwise.
 */
export function answerClientError(guard: HttpConnectionGuard, err: NodeJS.ErrnoException, socket: Duplex & { remoteAddress?: string; _httpMessage?: { headersSent?: boolean } }): void {
  if (err.code === "ECONNRESET" || err.code === "EPIPE" || guard.answered.has(socket)) {
    socket.destroy();
    return;
  }
  guard.answered.add(socket);
  const timeout = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
  guard.refused(timeout ? "timeout" : "bad-request", socket.remoteAddress, timeout ? "request not received in time (headers, body or TLS handshake)" : "malformed HTTP request", { code: err.code ?? null });
  const status = timeout ? "408 Request Timeout" : err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
  if (socket.writable && socket._httpMessage?.headersSent !== true) {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    // end() waits for the peer to read; a peer that never reads is not waited for.
    setTimeout(() => socket.destroy(), 1_000).unref();
  } else {
    socket.destroy();
  }
}

/**
 * The address of the client behind a request. Directly connected, it is the socket's peer. Behind a
 * reverse proxy every request comes from the proxy, so the per-address limits (failed logins, open
 * connections) would treat all operators as one, and loopback checks would let the world in: the
 * gateway takes the client from `X-Forwarded-For` only when the peer is one of the proxies it was told
 * to trust (config http.trustedProxies, `--trusted-proxy`), walking the list from the right past
 * trusted hops. A forwarding header from anyone else is ignored for the address, and marks the
 * request as forwarded (not local: /metrics without a token refuses it).
 */
import type { IncomingMessage } from "node:http";

export interface ClientAddress {
  /** The client's address: the peer's, or the forwarded one behind a trusted proxy. */
  readonly address: string;
  /** The request carries forwarding headers its peer is not trusted to set (an untrusted proxy, or a forger). */
  readonly forwardedUntrusted: boolean;
}

/** The address as compared with the trusted list: an IPv4-mapped IPv6 address as its IPv4 form. */
export function normaliseAddress(address: string): string {
  const a = address.trim();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

export function clientAddress(req: IncomingMessage, trusted: ReadonlySet<string>): ClientAddress {
  const peer = normaliseAddress(req.socket.remoteAddress ?? "unknown");
  const header = req.headers["x-forwarded-for"];
  const forwarded = header !== undefined || req.headers.forwarded !== undefined;
  if (!trusted.has(peer)) return { address: peer, forwardedUntrusted: forwarded };
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map(normaliseAddress).filter((h) => h !== "");
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i] ?? "";
    if (!trusted.has(hop)) return { address: hop, forwardedUntrusted: false };
  }
  return { address: hops[0] ?? peer, forwardedUntrusted: false };
}

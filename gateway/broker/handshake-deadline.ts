/**
 * Load shedding in a reconnect storm (a node of a cluster died and its kiosks arrive at once). While
 * `STORM_HANDSHAKES` or more connections wait for their CONNACK, a connection whose CONNECT the gateway
 * gets to `deadlineMs` or more after it accepted the socket is refused with CONNACK "server
 * unavailable" (3), before any lookup. Its kiosk gives up on a handshake after its connect timeout
 * (10 s by default) and tries again: finishing this one anyway would cost the gateway the same work
 * twice. Refused at once, the kiosk moves on to the next node after its backoff, and the gateway
 * spends its time on connections it can still answer in time. Outside a storm a late CONNECT is a
 * slow link (a kiosk on a poor cellular or satellite link), never refused for being late. The accept
 * time is the TCP accept, before any TLS handshake. `deadlineMs` 0 turns it off.
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Clock } from "../../shared/clock.js";
import { authError, type RefusalError, SERVER_UNAVAILABLE } from "./kiosk-auth.js";

/** Handshakes in progress that make a storm: a fleet's usual reconnects are a few at a time. */
export const STORM_HANDSHAKES = 100;

const key = (socket: Socket): string => `${socket.remoteAddress ?? "?"}|${socket.remotePort ?? "?"}`;

export class HandshakeDeadline {
  /** Connections accepted and not answered yet (no CONNACK), with when they were accepted. */
  private readonly waiting = new Map<object, number>();
  /** TCP sockets of the TLS listener, by their peer address, until their TLS socket is handed over. */
  private readonly underTls = new Map<string, number>();

  constructor(
    private readonly deadlineMs: number,
    private readonly clock: Clock,
  ) {}

  /** A plain TCP socket or a WebSocket stream, accepted now. */
  accept(stream: Duplex): void {
    if (this.deadlineMs > 0) this.track(stream, this.clock.now().getTime());
  }

  /** A TCP socket of the TLS listener, accepted now; its TLS socket comes to `secured` after the handshake. */
  acceptUnderTls(raw: Socket): void {
    if (this.deadlineMs <= 0) return;
    const k = key(raw);
    this.underTls.set(k, this.clock.now().getTime());
    raw.once("close", () => this.underTls.delete(k));
  }

  /** The TLS socket of a connection accepted by `acceptUnderTls`: it keeps that accept time. */
  secured(socket: Socket): void {
    const k = key(socket);
    const at = this.underTls.get(k);
    this.underTls.delete(k);
    if (at !== undefined) this.track(socket, at);
  }

  /** The connection got its CONNACK. */
  answered(stream: object): void {
    this.waiting.delete(stream);
  }

  /** Handshakes in progress (accepted, not answered). */
  get inProgress(): number {
    return this.waiting.size + this.underTls.size;
  }

  /** The refusal for a connection past its deadline in a storm; undefined otherwise (or not tracked). */
  refusal(stream: object): RefusalError | undefined {
    const at = this.waiting.get(stream);
    if (at === undefined) return undefined;
    const waited = this.clock.now().getTime() - at;
    if (waited < this.deadlineMs || this.inProgress < STORM_HANDSHAKES) return undefined;
    this.waiting.delete(stream);
    return authError(
      SERVER_UNAVAILABLE,
      `gateway overloaded: ${this.inProgress + 1} connections waiting, this one ${waited} ms for its CONNECT to be read (limits.handshakeDeadlineMs ${this.deadlineMs}); the kiosk tries again, or another node`,
      "overloaded",
    );
  }

  private track(stream: Duplex, at: number): void {
    this.waiting.set(stream, at);
    stream.once("close", () => this.waiting.delete(stream));
  }
}

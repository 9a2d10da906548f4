/**
 * Limits applied to MQTT connections before (and beside) authentication:
 *
 * - a connection rate per source address (a token bucket: `burst` at once, then `perSecond`);
 * - a maximum MQTT packet size, enforced from each packet's fixed header: a packet announcing more
 *   than the limit ends the connection as soon as its length is read, so the broker never buffers it
 *   (mqtt-packet has no such limit for MQTT 3.1.1; Aedes would wait for the whole packet). The first
 *   packet, the CONNECT, read before anyone is authenticated, has a far smaller limit of its own: a
 *   real one is a few hundred bytes, and thousands of unauthenticated sockets each holding a
 *   half-sent 512 KiB CONNECT would otherwise hold gigabytes until their connect timeout;
 * - a gate on each whole packet, in front of Aedes' handlers (gatePackets; the policy is in packet-gate.ts).
 *
 * Kiosks behind carrier-grade NAT share addresses: keep the connection rate generous (docs/threat-model.md).
 */
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { addressKey } from "../operators/limiter.js";
import type { Clock } from "../../shared/clock.js";

export class ConnectionRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly clock: Clock,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Takes a token for the address; false when it has none left (refuse the connection). 0 burst = no limit. */
  take(ip: string): boolean {
    if (this.burst <= 0) return true;
    const address = addressKey(ip);
    const now = this.clock.now().getTime();
    const bucket = this.buckets.get(address) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1_000) * this.perSecond);
    bucket.at = now;
    this.buckets.delete(address);
    if (this.buckets.size >= this.maxAddresses) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    this.buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * A connection from `address` authenticated: its token is given back. Only connections that fail
   * or never authenticate use the budget up, so a fleet behind one NAT address reconnecting at once
   * after a gateway restart is never held back by its own successful reconnects.
   */
  refund(ip: string): void {
    const bucket = this.buckets.get(addressKey(ip));
    if (bucket !== undefined) bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
  }
}

/**
 * Follows MQTT framing on a connection's bytes (as the broker reads them) and calls `tooLarge` with
 * the announced size and the limit it broke when a packet's remaining length is over `maxBytes`
 * (the first packet, the CONNECT: over `connectMaxBytes`, when smaller). Reads only headers.
 */
export class PacketSizeWatcher {
  private state: "header" | "length" | "body" = "header";
  private length = 0;
  private multiplier = 1;
  private remaining = 0;
  private tripped = false;
  private first = true;

  constructor(
    private readonly maxBytes: number,
    private readonly tooLarge: (announced: number, limit: number) => void,
    private readonly connectMaxBytes = maxBytes,
  ) {}

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.tripped) {
      if (this.state === "body") {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = "header";
        continue;
      }
      const byte = chunk[i] ?? 0;
      i += 1;
      if (this.state === "header") {
        this.state = "length";
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if ((byte & 0x80) !== 0 && this.multiplier <= 128 ** 3) continue;
      const limit = this.first ? Math.min(this.maxBytes, this.connectMaxBytes) : this.maxBytes;
      this.first = false;
      if (this.length > limit) {
        this.tripped = true;
        this.tooLarge(this.length, limit);
        return;
      }
      this.remaining = this.length;
      this.state = this.remaining === 0 ? "header" : "body";
    }
  }
}

/** The packet limits of one connection (config.limits): any packet's, and the first packet's, the CONNECT. 0 = no limit. */
export interface PacketLimits {
  readonly maxPacketBytes: number;
  readonly maxConnectBytes: number;
}

/** Watches a socket's packets; the 'data' listener sees each chunk when the broker reads it, before its parser does. */
export function watchPacketSize(stream: Duplex, limits: PacketLimits, tooLarge: (reason: string) => void): void {
  const max = limits.maxPacketBytes > 0 ? limits.maxPacketBytes : Number.POSITIVE_INFINITY;
  const connectMax = limits.maxConnectBytes > 0 ? limits.maxConnectBytes : max;
  if (max === Number.POSITIVE_INFINITY && connectMax === max) return;
  const watcher = new PacketSizeWatcher(max, (announced, limit) =>
    tooLarge(limit < max ? `CONNECT of ${announced} bytes is over the ${limit}-byte limit for a CONNECT (limits.maxConnectBytes)` : `packet of ${announced} bytes is over the ${limit}-byte limit (limits.maxPacketBytes)`),
  connectMax);
  stream.on("data", (chunk: Buffer) => watcher.feed(chunk));
}

/** A packet as Aedes' parser (mqtt-packet) hands it over: the fields the gate reads. */
export interface WirePacket {
  readonly cmd: string;
  readonly topic?: string;
  readonly qos?: number;
  readonly retain?: boolean;
  readonly payload?: Buffer | string;
  readonly subscriptions?: { topic: string; qos: number }[];
  readonly unsubscriptions?: string[];
}

type PacketListener = (this: unknown, packet: WirePacket) => void;

/**
 * Puts `admit` in front of Aedes for every packet a client sends. Aedes' client parses its bytes
 * with an mqtt-packet parser whose 'packet' listener hands each whole packet to the broker's
 * handlers (aedes 1.2, lib/client.js: `this._parser.on('packet', enqueue)`); the gate takes that
 * listener's place and calls it only for admitted packets, so a refused packet never reaches a hook,
 * a handler or a store. Once one is refused, nothing more from the connection is handed on (the
 * rest of the chunk being parsed). Returns false when Aedes' parser is not where aedes 1.2 keeps it.
 */
export function gatePackets(client: object, admit: (packet: WirePacket) => boolean): boolean {
  const parser = (client as { _parser?: unknown })._parser;
  if (!(parser instanceof EventEmitter) || parser.listenerCount("packet") === 0) return false;
  const handlers = parser.listeners("packet") as PacketListener[];
  parser.removeAllListeners("packet");
  let refused = false;
  parser.on("packet", function gate(this: unknown, packet: WirePacket) {
    if (refused) return;
    if (!admit(packet)) {
      refused = true;
      return;
    }
    for (const handler of handlers) handler.call(this, packet);
  });
  return true;
}

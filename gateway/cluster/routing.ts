/**
 * MQTT routing between gateway nodes: the emitter Aedes publishes through (its `mq` option), made of
 * two of Aedes' own building blocks, an in-process mqemitter and mqemitter-redis (Redis PUBLISH /
 * SUBSCRIBE between nodes).
 *
 * - Every publish is delivered to this node's subscribers by the local emitter first, whatever Redis
 *   is doing: alerts, acks and commands to the kiosks on this node never wait for Redis (with
 *   mqemitter-redis alone every publish makes the round trip through Redis, and nothing reaches
 *   anyone while it is down; ../shared/docs/field-notes.md).
 * - It is also published to Redis, tagged with this node's id, for subscribers on the other nodes;
 *   a node drops its own messages when they come back. Subscriptions are mirrored to Redis without
 *   waiting for it (a SUBACK never waits for Redis).
 * - Kiosks' acks are never taken from Redis (LOCAL_ONLY): an ack is always sent by the kiosk's own node.
 * - What no client anywhere may subscribe to (a kiosk's heartbeats, alerts, status…: broker/acl.ts
 *   nobodySubscribes) is not published to Redis at all: the kiosk's own node handles it, and 10 000
 *   kiosks beating every 10 s would otherwise cost each node an encode and a Redis write per beat.
 * - Nodes announce themselves on NODES_TOPIC (heard-nodes.ts): straight to Redis and back, never
 *   through the local emitter nor to any Aedes listener, so no MQTT client on any node receives one.
 * - Redis down: cross-node messages (a call between a kiosk on one node and a page on another,
 *   operator events) are not routed meanwhile. Redis pub/sub keeps nothing, so they are gone: the
 *   gap is logged once when it starts and once when it ends (with how many messages were not
 *   routed), and counted (`state()`); routing resumes by itself when Redis is back. What must not be
 *   lost never rests on this: kiosks resend from their outboxes, the gateway from its stored outboxes.
 */
import { Redis } from "ioredis";
import mqemitter from "mqemitter";
import MQEmitterRedis from "mqemitter-redis";
import type { Logger } from "pino";
import { nobodySubscribes } from "../broker/acl.js";

type Message = mqemitter.Message;
type Listener = (message: Message, done: () => void) => void;

/** What Aedes needs of an emitter (its `mq` option). */
export interface Emitter {
  readonly current: number;
  readonly concurrent: number;
  on(topic: string, listener: Listener, callback?: () => void): this;
  emit(message: Message, callback?: (error?: Error) => void): void;
  removeListener(topic: string, listener: Listener, callback?: () => void): void;
  close(callback: () => void): void;
}

export interface RoutingOptions {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  readonly url: string;
  /** This node's id (`--node-id`): its own messages are told apart by it. */
  readonly nodeId: string;
  /** Aedes' concurrency (the local emitter's). */
  readonly concurrency?: number;
  /** How long Redis may take to answer at the start before that is logged as an outage (5 s). */
  readonly startGraceMs?: number;
}

export interface RoutingState {
  /** Both Redis connections are up. */
  readonly up: boolean;
  /** Messages published to the other nodes. */
  readonly routed: number;
  /** Messages received from the other nodes. */
  readonly received: number;
  /** Messages that could not be published to the other nodes (Redis down). */
  readonly notRouted: number;
  /** Times routing went down. */
  readonly outages: number;
  /** Messages from Redis that are never routed (acks: always local), dropped. */
  readonly refused: number;
}

const ORIGIN = "sosOrigin";

/** Nodes' announcements (node id and process), over Redis only: what tells a node on another Redis apart (heard-nodes.ts). */
export const NODES_TOPIC = "$SOS/nodes";
const HOLDER = "sosHolder";

/** A node's announcement, as heard. */
export interface Announcement {
  readonly nodeId: string;
  /** Its process (Singletons.holder, the holder of its row in the store). */
  readonly holder: string;
}

/**
 * Acks never come from another node: a kiosk's alert is acknowledged by the node it arrived on, on
 * the same connection, so an ack from Redis can only be a forgery (someone who can write to Redis
 * making a kiosk drop an alert it still holds). They are not delivered, and counted.
 */
const LOCAL_ONLY = /^sos\/v1\/kiosks\/[^/]+\/acks$/;

/**
 * Aedes' announcements that no node listens for (one per SUBSCRIBE, UNSUBSCRIBE and closed
 * connection): kept on this node. `$SYS/<id>/new/clients` is routed: a node drops the session of a
 * client that connected elsewhere (../broker/routed-packets.ts), and Aedes closes its old connection.
 */
/** Redis not answering this long after the node started is logged as an outage. */
const START_GRACE_MS = 5_000;
const NOT_ROUTED = /^\$SYS\/[^/]+\/(?:new\/subscribes|new\/unsubscribes|disconnect\/clients)$/;

export class ClusterRouting implements Emitter {
  private readonly local: mqemitter.MQEmitter;
  private readonly remote: MQEmitterRedis.MQEmitterRedis;
  private readonly pub: Redis;
  private readonly sub: Redis;
  /** listener → topic → its wrapper on the remote emitter. */
  private readonly wrapped = new Map<Listener, Map<string, Listener>>();
  private counts = { routed: 0, received: 0, notRouted: 0, outages: 0, refused: 0 };
  /** Since when routing is down (from the start until Redis first answers, without an outage counted). */
  private down: { since: number; notRoutedAtStart: number; starting: boolean } | null = { since: Date.now(), notRoutedAtStart: 0, starting: true };
  private closed = false;
  /** What Redis last said went wrong (refused, unknown host, wrong password…), for the outage's log line. */
  private lastError: string | undefined;
  private startCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: RoutingOptions,
    private readonly log: Logger,
  ) {
    const concurrency = options.concurrency ?? 100;
    this.local = mqemitter({ concurrency, matchEmptyLevels: true });
    const common = { lazyConnect: false, connectTimeout: 5_000, retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000) };
    // Publishes fail at once while Redis is down (counted), instead of queueing stale call messages.
    // Those of one tick go out in one write (a fleet connecting at once publishes thousands a second).
    this.pub = new Redis(options.url, { ...common, connectionName: `sos-${options.nodeId}-pub`, enableOfflineQueue: false, maxRetriesPerRequest: 0, enableAutoPipelining: true });
    // Subscriptions queue while down and are renewed by ioredis after a reconnect. No ready check:
    // ioredis writes a SUBSCRIBE made while the connection is being set up at once, and the ready
    // check's INFO is then refused on what became a subscriber connection; ioredis drops the
    // connection and makes it again without that subscription, silently (a kiosk or a page
    // connecting to this node just then would get nothing from the other nodes). Pub/sub needs no
    // check that Redis has loaded its data.
    this.sub = new Redis(options.url, { ...common, connectionName: `sos-${options.nodeId}-sub`, maxRetriesPerRequest: null, enableReadyCheck: false });
    this.remote = MQEmitterRedis({ concurrency, matchEmptyLevels: true, pubConn: this.pub, subConn: this.sub });
    // mqemitter-redis reports connection errors on `state` only (none on the emitter itself).
    (this.remote as unknown as { state: NodeJS.EventEmitter }).state.on("error", () => this.checkState());
    // Redis may be restarting at our own start; one that still has not answered after this long is an outage, said once.
    this.startCheck = setTimeout(() => this.startedDown(), options.startGraceMs ?? START_GRACE_MS);
    this.startCheck.unref();
    for (const conn of [this.pub, this.sub]) {
      // Only what says why Redis cannot be reached (refused, unknown host, a wrong password), not a
      // command refused on a connection that is closing.
      conn.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code !== undefined || /WRONGPASS|NOAUTH|AUTH|NOPERM/.test(err.message)) this.lastError = err.message;
      });
      conn.on("ready", () => {
        // Only once both are up: the subscriber (no ready check) says "ready" before Redis has
        // answered its AUTH, which would wipe a WRONGPASS the other connection has just reported.
        if (this.isUp()) this.lastError = undefined;
        this.checkState();
      });
      conn.on("close", () => this.checkState());
      conn.on("end", () => this.checkState());
    }
  }

  /** Where routing goes (no password): for log lines. */
  get where(): string {
    try {
      const u = new URL(this.options.url);
      return `${u.protocol}//${u.host}`;
    } catch {
      return "(the --cluster URL)";
    }
  }

  get current(): number {
    return this.local.current;
  }

  get concurrent(): number {
    return this.local.concurrent;
  }

  state(): RoutingState {
    return { up: this.isUp(), ...this.counts };
  }

  on(topic: string, listener: Listener, callback?: () => void): this {
    const own = this.options.nodeId;
    const fromOthers: Listener = (message, done) => {
      // Announcements are the nodes' own (onAnnouncement): a filter such as `#` must not hand one to a client.
      if (message[ORIGIN] === own || message.topic === NODES_TOPIC) return done();
      if (LOCAL_ONLY.test(message.topic)) {
        this.counts.refused += 1;
        return done();
      }
      this.counts.received += 1;
      const { [ORIGIN]: _origin, ...packet } = message;
      listener(packet as Message, done);
    };
    // A kiosk's own acks topic is not even asked of Redis (one SUBSCRIBE less per kiosk connection).
    if (!LOCAL_ONLY.test(topic)) {
      const byTopic = this.wrapped.get(listener) ?? new Map<string, Listener>();
      byTopic.set(topic, fromOthers);
      this.wrapped.set(listener, byTopic);
      this.remote.on(topic, fromOthers);
    }
    this.local.on(topic, listener, callback);
    return this;
  }

  removeListener(topic: string, listener: Listener, callback?: () => void): void {
    const byTopic = this.wrapped.get(listener);
    const fromOthers = byTopic?.get(topic);
    if (fromOthers !== undefined) {
      byTopic?.delete(topic);
      if (byTopic?.size === 0) this.wrapped.delete(listener);
      this.remote.removeListener(topic, fromOthers);
    }
    this.local.removeListener(topic, listener, callback);
  }

  emit(message: Message, callback?: (error?: Error) => void): void {
    this.local.emit(message, callback);
    if (this.closed || NOT_ROUTED.test(message.topic) || nobodySubscribes(message.topic)) return;
    if (!this.isUp()) {
      // The outage first (its count starts here), then this message in it.
      this.checkState();
      this.counts.notRouted += 1;
      return;
    }
    this.remote.emit({ ...message, [ORIGIN]: this.options.nodeId }, (err) => {
      if (err === undefined || err === null) {
        this.counts.routed += 1;
        return;
      }
      this.checkState();
      this.counts.notRouted += 1;
    });
  }

  /** Tells the other nodes this process routes here (heard-nodes.ts); nothing while Redis is down, an error waits for the next. */
  announce(holder: string): void {
    if (this.closed || !this.isUp()) return;
    this.remote.emit({ topic: NODES_TOPIC, [ORIGIN]: this.options.nodeId, [HOLDER]: holder }, () => undefined);
  }

  /** The other nodes' announcements (this node's own come back too: the listener tells them apart by holder). */
  onAnnouncement(listener: (from: Announcement) => void): void {
    this.remote.on(NODES_TOPIC, (message, done) => {
      const nodeId: unknown = message[ORIGIN];
      const holder: unknown = message[HOLDER];
      if (typeof nodeId === "string" && typeof holder === "string") listener({ nodeId, holder });
      done();
    });
  }

  close(callback: () => void): void {
    this.closed = true;
    clearTimeout(this.startCheck);
    // Not `quit`: with Redis down it would wait for an answer that never comes.
    this.pub.disconnect();
    this.sub.disconnect();
    this.local.close(callback);
  }

  private isUp(): boolean {
    return this.pub.status === "ready" && this.sub.status === "ready";
  }

  /** Redis has not answered since the start: said once, with what Redis said, as an outage (its end is logged too). */
  private startedDown(): void {
    if (this.closed || this.down?.starting !== true) return;
    this.down = { ...this.down, starting: false };
    this.counts.outages += 1;
    this.log.error(
      { nodeId: this.options.nodeId, redis: this.where, reason: this.lastError ?? "no answer", waitedMs: Date.now() - this.down.since },
      "cluster routing down since this node started (Redis unreachable, or refusing this node: check --cluster / SOS_CLUSTER_URL and its password): this node's kiosks and pages are served, messages to other nodes are not routed until it answers",
    );
  }

  /** Logs the start and the end of an outage, once each. */
  private checkState(): void {
    if (this.closed) return;
    const up = this.isUp();
    if (!up && this.down === null) {
      this.down = { since: Date.now(), notRoutedAtStart: this.counts.notRouted, starting: false };
      this.counts.outages += 1;
      this.log.error({ nodeId: this.options.nodeId, redis: this.where, reason: this.lastError ?? "the connection to Redis closed" }, "cluster routing down (Redis unreachable): this node's kiosks and pages are served, messages to other nodes are not routed until it is back");
    } else if (up && this.down !== null) {
      const { since, notRoutedAtStart, starting } = this.down;
      this.down = null;
      if (starting) {
        this.log.info({ nodeId: this.options.nodeId, waitedMs: Date.now() - since }, "cluster routing up");
        return;
      }
      this.log.warn({ nodeId: this.options.nodeId, downMs: Date.now() - since, notRouted: this.counts.notRouted - notRoutedAtStart }, "cluster routing back");
    }
  }
}

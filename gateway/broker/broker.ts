/**
 * The embedded Aedes broker: kiosks on TCP, operators' browsers on a WebSocket that the HTTP server
 * hands over (handleWebSocket). Policy lives in small functions (auth, acl); this file only wires
 * them into Aedes' hooks and routes kiosk messages to their handlers.
 */
import type { IncomingMessage } from "node:http";
import type { Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Server as TlsServer, TLSSocket } from "node:tls";
import { Aedes, type Client, type PublishPacket } from "aedes";
import type { Logger } from "pino";
import { OPERATOR_ALARMS_TOPIC, type OperatorAlarm } from "../../shared/call.js";
import { type Clock, systemClock } from "../../shared/clock.js";
import { type GatewayConfig, nodeIdOf } from "../../shared/config/gateway.js";
import { type Ack, parseTopic, type TopicName, topicFor, topics } from "../../shared/contract.js";
import { ErrorCode, SosError, retriedFailureLevel } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { OperatorAuth } from "../operators/auth.js";
import { FailedLoginLimiter } from "../operators/limiter.js";
import { isOperatorClientId, operatorNameFromUsername, OPERATOR_USERNAME_PREFIX } from "../operators/names.js";
import type { ServerTls } from "../pki/ca.js";
import type { GatewayStore } from "../store/store.js";
import { decideSubscribe, type Principal } from "./acl.js";
import { remoteAddress, transport } from "./clients.js";
import { ConnectionRateLimiter, watchPacketSize } from "./guard.js";
import { authError, BAD_USERNAME_OR_PASSWORD, IDENTIFIER_REJECTED, KioskAuthenticator, NOT_AUTHORIZED, refusalLabel, type RefusalError } from "./kiosk-auth.js";
import { acceptQueueCap, listenMqtt, secureContextOptions } from "./listeners.js";
import { PacketGate, type Refusal, RefusedError } from "./packet-gate.js";
import { HandshakeDeadline } from "./handshake-deadline.js";
import { RefusalLog, RESTORED_SUBSCRIPTION_REFUSED } from "./refusal-log.js";
import { type BrokerPersistence, clearRetained, retainedTopics } from "./retained.js";
import { indexRetained, type RetainedPersistence } from "./retained-index.js";
import { acceptRoutedPackets, forgetSessionsThatMoved, type OutgoingPersistence } from "./routed-packets.js";
import { SessionLog } from "./session-log.js";
import { TakeoverWatch } from "./takeovers.js";
import type { Emitter } from "../cluster/routing.js";

/** Handles a message a kiosk published on one of its `up` topics. */
export type UpHandler = (kioskId: string, topic: string, payload: Buffer) => Promise<void>;
/** Sees a message an operator page published (after it was delivered): `operator` is its authenticated name. */
export type OperatorHandler = (operator: string, topic: string, payload: Buffer) => void;

/** Where a dropped kiosk message goes: a topic nobody can subscribe to and no handler takes. */
const DROPPED_TOPIC = "$SYS/sos/dropped";

export interface BrokerDeps {
  readonly store: GatewayStore;
  readonly bus: EventBus<GatewayEvents>;
  readonly log: Logger;
  /** Without it, operators cannot connect. */
  readonly operators?: OperatorAuth;
  /** The server certificate and the CA for MQTT over TLS; without it, no TLS listener. */
  readonly tls?: ServerTls;
  readonly clock?: Clock;
  /** Aedes' store of sessions, retained messages and wills; defaults to Aedes' own, in memory. */
  readonly persistence?: BrokerPersistence;
  /** The emitter publishes go through: the cluster's routing (gateway/cluster/routing.ts); Aedes' own in-process one without. */
  readonly mq?: Emitter;
  /**
   * Checks a kiosk's publish the ACL allowed (alarms/call-guard.ts). A reason drops the message
   * (acknowledged, delivered to no one, handled by nothing) and the kiosk stays connected.
   */
  readonly checkKioskPublish?: (kioskId: string, topic: string, payload: Buffer) => Promise<string | null>;
}

export class GatewayBroker {
  readonly principals = new WeakMap<Client, Principal>();
  private aedes: Aedes | undefined;
  private readonly servers: Server[] = [];
  private plainPort: number | null = null;
  private tlsPort: number | null = null;
  private tlsServer: TlsServer | undefined;
  /** Every open TCP connection, including those that have not completed MQTT CONNECT yet. */
  private readonly sockets = new Set<Socket | Duplex>();
  private readonly handlers = new Map<TopicName, UpHandler>();
  private readonly operatorHandlers = new Map<TopicName, OperatorHandler>();
  /** The live connection of each kiosk. */
  private readonly connected = new Map<string, Client>();
  /**
   * The newest authenticated connection of each kiosk. A reconnect that takes over a half-open old
   * connection makes Aedes close the old one (clientDisconnect) before the new one is ready: that
   * disconnect is not the kiosk going away.
   */
  private readonly newest = new Map<string, Client>();
  private readonly kioskAuth: KioskAuthenticator;
  private readonly connections: ConnectionRateLimiter;
  private readonly handshakes: HandshakeDeadline;
  /** Refused connections, publishes and subscriptions and client errors, logged sampled (a flood would drown the log). */
  private readonly refusals: RefusalLog;
  private readonly gate: PacketGate;
  /** Connect and disconnect lines, sampled per client (one reconnecting in a loop would flood the log). */
  private readonly sessions: SessionLog;
  /** Kiosks whose connections keep taking each other over (two boxes with one identity). */
  private readonly takeovers: TakeoverWatch;
  private stopping = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: BrokerDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    const { limits } = config;
    this.kioskAuth = new KioskAuthenticator(deps.store, new FailedLoginLimiter(limits.maxAuthFailuresPerMinute, 60_000, clock));
    this.connections = new ConnectionRateLimiter(limits.connectionBurst, limits.connectionsPerSecond, clock);
    this.handshakes = new HandshakeDeadline(limits.handshakeDeadlineMs, clock);
    this.refusals = new RefusalLog(deps.log, { perKey: limits.refusalLogPerKey, total: limits.refusalLogTotal, windowMs: limits.refusalLogWindowMs });
    this.sessions = new SessionLog(deps.log, { perKey: limits.refusalLogPerKey, windowMs: limits.refusalLogWindowMs });
    this.takeovers = new TakeoverWatch(deps.log, () => deps.bus.emit("kiosk.takeover", {}));
    this.gate = new PacketGate({
      principals: this.principals,
      refusals: this.refusals,
      bus: deps.bus,
      log: deps.log,
      maxFiltersPerSubscribe: limits.maxFiltersPerSubscribe,
      remoteAddress,
    });
  }

  /** The password listener's port (null when it is off). */
  get mqttPort(): number | null {
    return this.plainPort;
  }

  /** The MQTT-over-TLS port (null without a CA). */
  get mqttsPort(): number | null {
    return this.tlsPort;
  }

  /** The serial of the certificate the kiosk's live session authenticated with (undefined: none, or a password). */
  sessionSerial(kioskId: string): string | undefined {
    const client = this.connected.get(kioskId);
    const principal = client === undefined ? undefined : this.principals.get(client);
    return principal?.role === "kiosk" ? principal.serial : undefined;
  }

  /** Cuts every live connection of a kiosk (it was revoked); returns how many were closed. */
  disconnectKiosk(kioskId: string, reason: string): number {
    // The live connection, and a newer one still between authentication and ready (it passed the
    // check just before the revocation was written).
    const clients = new Set([this.connected.get(kioskId), this.newest.get(kioskId)].filter((c): c is Client => c !== undefined));
    for (const client of clients) {
      this.deps.log.warn({ kioskId, reason }, "kiosk disconnected by the gateway");
      this.gate.cut(client);
      client.close();
    }
    return clients.size;
  }

  /** Aedes' persistence (sessions, retained messages, wills, QoS 2 in flight); undefined before start. */
  get persistence(): BrokerPersistence | undefined {
    return (this.aedes as unknown as { persistence?: BrokerPersistence } | undefined)?.persistence;
  }

  /** The topics of the kiosk that hold a retained message. */
  retainedTopics(kioskId: string): Promise<string[]> {
    return retainedTopics(this.persistence, kioskId);
  }

  /** Clears every retained message of a kiosk (it was revoked); resolves with how many there were. */
  clearRetained(kioskId: string): Promise<number> {
    return this.aedes === undefined || this.aedes.closed ? Promise.resolve(0) : clearRetained(this.aedes, this.persistence, kioskId);
  }

  /** Closes an operator page's MQTT connection (its operator was removed). */
  disconnectClient(clientId: string): boolean {
    // Aedes keeps its live clients by id (aedes.js: this.clients); its types do not declare it.
    const clients = (this.aedes as unknown as { clients?: Record<string, Client | undefined> } | undefined)?.clients;
    const client = clients?.[clientId];
    if (client === undefined) return false;
    client.close();
    return true;
  }

  /** Serves a renewed server certificate to new TLS handshakes; connected kiosks keep their sessions. */
  loadServerTls(tls: ServerTls): void {
    this.tlsServer?.setSecureContext(secureContextOptions(tls));
  }

  /** Routes what operator pages publish on a topic (call/down) to a handler. */
  handleOperator(topic: TopicName, handler: OperatorHandler): void {
    this.operatorHandlers.set(topic, handler);
  }

  /** Routes a kiosk `up` topic to a handler. Messages before a handler is attached are resent by the kiosk. */
  handle(topic: TopicName, handler: UpHandler): void {
    this.handlers.set(topic, handler);
  }

  isConnected(kioskId: string): boolean {
    return this.connected.has(kioskId);
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** Accepting MQTT connections on every listener (readiness). */
  get listening(): boolean {
    return this.servers.length > 0 && this.servers.every((s) => s.listening) && this.aedes?.closed === false;
  }

  async start(): Promise<void> {
    const { log } = this.deps;
    const aedes = await Aedes.createBroker({
      // A cluster node's broker id is its node id: Aedes tells nodes apart by it ($SYS/<id>/…).
      id: nodeIdOf(this.config),
      ...(this.deps.persistence === undefined ? {} : { persistence: this.deps.persistence }),
      ...(this.deps.mq === undefined ? {} : { mq: this.deps.mq }),
      drainTimeout: this.config.broker.drainTimeoutMs,
      maxTopicLevels: this.config.broker.maxTopicLevels,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => {
        // A CONNECT read too late (a reconnect storm) is refused before any lookup: handshake-deadline.ts.
        const late = this.handshakes.refusal(client.conn);
        (late === undefined ? this.authenticate(client, username, password) : Promise.reject(late)).then(
          (principal) => {
            this.principals.set(client, principal);
            if (principal.role === "kiosk") {
              const before = this.newest.get(principal.kioskId);
              if (before !== undefined && before !== client && !before.closed) this.takeovers.took(principal.kioskId, remoteAddress(before), remoteAddress(client), Date.now());
              this.newest.set(principal.kioskId, client);
              this.deps.bus.emit("kiosk.authenticated", { kioskId: principal.kioskId });
            }
            this.connections.refund(remoteAddress(client) ?? "unknown");
            done(null, true);
          },
          (err: RefusalError) => {
            const label = err.label ?? refusalLabel(err.returnCode);
            this.refusals.refused(label, { clientId: client.id, username, reason: err.message, address: remoteAddress(client), transport: transport(client) });
            this.deps.bus.emit("mqtt.refused", { what: "connection", reason: label });
            done(err, false);
          },
        );
      },
      // Runs before Aedes stores a QoS 2 packet or a retained message (aedes 1.2 lib/handlers/publish.js:
      // authorizePublish, then enqueuePublish), for wire publishes and for last wills; the gate has
      // already checked the contract on wire publishes, this checks it again (and on wills).
      authorizePublish: (client, packet, done) => {
        const refuse = (decision: Refusal): void => {
          this.gate.refusePublish(client, packet.topic, decision);
          done(new RefusedError(decision.reason));
        };
        const decision = this.gate.decidePublish(client, packet);
        if (!decision.allow) return refuse(decision);
        const principal = client === null ? undefined : this.principals.get(client);
        if (principal?.role === "kiosk" && this.deps.checkKioskPublish !== undefined) return this.checkKioskPublish(principal.kioskId, packet, done);
        if (principal?.role !== "operator") return done(null);
        // An operator writes only to kiosks that exist (not to topics a future kiosk id would use).
        const kioskId = parseTopic(packet.topic)?.kioskId ?? "";
        this.deps.store.getKiosk(kioskId).then(
          (kiosk) => (kiosk === undefined ? refuse({ allow: false, reason: `kiosk ${kioskId} is not registered`, label: "unknown-kiosk" }) : done(null)),
          (err: unknown) => {
            log.error({ err }, "kiosk lookup failed");
            refuse({ allow: false, reason: "kiosk lookup failed", label: "lookup-failed" });
          },
        );
      },
      // A second lock: the gate has refused (and disconnected) every SUBSCRIBE with a refused filter.
      // What reaches this refused is a stored subscription of a restored session: dropped, the
      // client stays connected (refusing it would refuse every reconnect).
      authorizeSubscribe: (client, sub, done) => {
        const decision = decideSubscribe(this.principals.get(client) ?? null, sub.topic);
        if (decision.allow) return done(null, sub);
        this.gate.refuseSubscribe(client, sub.topic, decision, RESTORED_SUBSCRIPTION_REFUSED);
        done(null, null);
      },
      published: (packet, client, done) => {
        const principal = client === null ? undefined : this.principals.get(client);
        const parsed = parseTopic(packet.topic);
        const handler = parsed === null ? undefined : this.handlers.get(parsed.name);
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        if (principal?.role === "operator" && parsed !== null) this.operatorHandlers.get(parsed.name)?.(principal.name, packet.topic, payload);
        if (principal?.role !== "kiosk" || handler === undefined) return done();
        handler(principal.kioskId, packet.topic, payload).then(
          () => done(),
          (err: unknown) => {
            log[retriedFailureLevel(err)]({ err, kioskId: principal.kioskId, topic: packet.topic }, "handling a kiosk message failed; the kiosk will resend");
            done();
          },
        );
      },
    });
    this.aedes = aedes;
    // Subscriptions to one topic find its retained message by lookup, not by a scan of every kiosk's.
    if (this.deps.persistence === undefined) indexRetained((aedes as unknown as { persistence: RetainedPersistence }).persistence);
    // In a cluster, QoS 1 messages from other nodes reach this node's persistent sessions (kiosks) too.
    if (this.deps.mq !== undefined) {
      const persistence = (aedes as unknown as { persistence: OutgoingPersistence }).persistence;
      acceptRoutedPackets(persistence, nodeIdOf(this.config));
      forgetSessionsThatMoved(this.deps.mq, persistence, nodeIdOf(this.config));
    }
    this.refusals.start();
    this.sessions.start();
    aedes.on("clientReady", (client) => {
      this.handshakes.answered(client.conn);
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      if (principal.role === "operator") return this.sessions.info(`operator:${principal.name}`, { operator: principal.name, clientId: client.id, address: remoteAddress(client) }, "operator connected");
      this.connected.set(principal.kioskId, client);
      this.sessions.info(principal.kioskId, { kioskId: principal.kioskId, address: remoteAddress(client) }, "kiosk connected");
      this.deps.bus.emit("kiosk.connected", { kioskId: principal.kioskId });
    });
    aedes.on("clientDisconnect", (client) => {
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      if (principal.role === "operator") return this.sessions.info(`operator:${principal.name}`, { operator: principal.name, clientId: client.id }, "operator disconnected");
      // A kiosk that reconnected before its old connection closed keeps the new one.
      if (this.connected.get(principal.kioskId) === client) this.connected.delete(principal.kioskId);
      if (this.newest.get(principal.kioskId) !== client) {
        this.sessions.info(principal.kioskId, { kioskId: principal.kioskId }, "kiosk's old connection closed: it has already connected again");
        return;
      }
      this.newest.delete(principal.kioskId);
      this.sessions.info(principal.kioskId, { kioskId: principal.kioskId }, "kiosk disconnected");
      // The broker closing every connection at stop is the gateway going away, not the kiosks.
      if (!this.stopping) this.deps.bus.emit("kiosk.disconnected", { kioskId: principal.kioskId });
    });
    this.gate.logErrors(aedes);

    const plainEnabled = this.config.mqtt.enabled ?? this.config.profile === "dev";
    if (plainEnabled) this.plainPort = await this.listen("mqtt", aedes);
    if (this.deps.tls !== undefined) this.tlsPort = await this.listen("mqtts", aedes);
    const cap = acceptQueueCap();
    if (cap !== undefined && cap < this.config.broker.listenBacklog) {
      log.warn({ listenBacklog: this.config.broker.listenBacklog, somaxconn: cap }, "the kernel caps the MQTT accept queue below broker.listenBacklog: kiosks arriving at once (a node of a cluster died) wait out TCP retransmissions; raise it with 'sysctl -w net.core.somaxconn=4096'");
    }
    if (!plainEnabled && this.deps.tls === undefined) {
      throw new SosError(ErrorCode.ConfigInvalid, "no MQTT listener: the password listener is off and there is no CA; run 'sos ca init --data-dir DIR' (or enable the password listener for development)");
    }
  }

  private async listen(kind: "mqtt" | "mqtts", aedes: Aedes): Promise<number> {
    const { server, port } = await listenMqtt(kind, {
      config: this.config,
      bus: this.deps.bus,
      connections: this.connections,
      handshakes: this.handshakes,
      refusals: this.refusals,
      sockets: this.sockets,
      aedes,
      gate: (client) => this.gate.install(client),
      ...(this.deps.tls === undefined ? {} : { tls: this.deps.tls }),
    });
    this.servers.push(server);
    if (kind === "mqtts") this.tlsServer = server as TlsServer;
    return port;
  }

  /** Serves one MQTT-over-WebSocket connection (the HTTP server did the upgrade). */
  handleWebSocket(stream: Duplex, req: IncomingMessage): void {
    const aedes = this.aedes;
    if (aedes === undefined || aedes.closed) {
      stream.destroy();
      return;
    }
    // The same limits as the TCP listeners, before anything is parsed or authenticated.
    const address = req.socket.remoteAddress ?? "unknown";
    const refuse = (reason: string, label: string): void => {
      this.refusals.refused(label, { address, listener: "ws", reason });
      this.deps.bus.emit("mqtt.refused", { what: "connection", reason: label });
      stream.destroy();
    };
    if (!this.connections.take(address)) return refuse("too many connections from this address", "rate-limited");
    this.sockets.add(stream);
    stream.once("close", () => this.sockets.delete(stream));
    this.handshakes.accept(stream);
    this.gate.install(aedes.handle(stream, req));
    watchPacketSize(stream, this.config.limits, (reason) => refuse(reason, "packet-too-large"));
  }

  publishAck(kioskId: string, ack: Ack): Promise<void> {
    return this.publishDown("acks", kioskId, JSON.stringify(ack));
  }

  /** Tells every connected operator page about an alarm, before anyone answers its call. */
  publishOperatorAlarm(alarm: OperatorAlarm): Promise<void> {
    return this.publish(OPERATOR_ALARMS_TOPIC, JSON.stringify(alarm), 1);
  }

  /**
   * Between the gateway nodes of a cluster only (cluster/console-relay.ts): a `$SOS/…` topic no client
   * may publish or subscribe to (the ACLs name only the contract's topics), routed like any publish.
   */
  publishInternal(topic: `$SOS/${string}`, payload: string): Promise<void> {
    return this.publish(topic, payload, 0);
  }

  /** Receives what the nodes publish on an internal topic (this node's own included). */
  subscribeInternal(topic: `$SOS/${string}`, handler: (payload: Buffer) => void): Promise<void> {
    const aedes = this.aedes;
    if (aedes === undefined) return Promise.reject(new Error("broker not started"));
    return new Promise((resolve) => {
      aedes.subscribe(
        topic,
        (packet, done) => {
          try {
            handler(Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          } finally {
            done();
          }
        },
        () => resolve(),
      );
    });
  }

  publishCommand(kioskId: string, payload: string): Promise<void> {
    return this.publishDown("commands", kioskId, payload);
  }

  /** Publishes a message to a kiosk on one of its `down` topics, at the contract's QoS. */
  private publishDown(name: "acks" | "commands", kioskId: string, payload: string): Promise<void> {
    return this.publish(topicFor(name, kioskId), payload, topics[name].qos);
  }

  private publish(topic: string, payload: string, qos: 0 | 1): Promise<void> {
    const aedes = this.aedes;
    if (aedes === undefined) return Promise.reject(new Error("broker not started"));
    return new Promise((resolve, reject) => {
      aedes.publish({ cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Stops accepting connections, then closes the broker (which closes every client). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.refusals.stop();
    this.sessions.stop();
    const aedes = this.aedes;
    const listening = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    if (aedes !== undefined && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes.close() closes only clients that completed CONNECT; a connection still authenticating
    // (or one that never sent CONNECT) would hold server.close() open until Aedes' 30 s connect timeout.
    for (const socket of this.sockets) socket.destroy();
    await listening;
  }

  /**
   * A kiosk message the policy refuses is dropped, the kiosk staying connected: Aedes has no way to
   * refuse one message without closing the connection, so it goes (empty, not retained) to a topic
   * nobody can subscribe to, and is acknowledged so that the kiosk does not send it again.
   */
  private checkKioskPublish(kioskId: string, packet: PublishPacket, done: (err: Error | null) => void): void {
    const check = this.deps.checkKioskPublish;
    if (check === undefined) return done(null);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const drop = (): void => {
      packet.topic = DROPPED_TOPIC;
      packet.payload = Buffer.alloc(0);
      packet.retain = false;
      done(null);
    };
    check(kioskId, packet.topic, payload).then(
      (refusal) => (refusal === null ? done(null) : drop()),
      (err: unknown) => {
        this.deps.log.error({ err, kioskId, topic: packet.topic }, "checking a kiosk's message failed: dropped");
        drop();
      },
    );
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    if (client.conn instanceof TLSSocket) {
      if (username?.startsWith(OPERATOR_USERNAME_PREFIX) === true) throw authError(NOT_AUTHORIZED, "operators connect over the WebSocket (/mqtt on the HTTP port), not MQTT/TLS");
      return this.kioskAuth.byCertificate(client, client.conn);
    }
    if (username === undefined || password === undefined) {
      throw authError(BAD_USERNAME_OR_PASSWORD, "no username or password");
    }
    if (username.startsWith(OPERATOR_USERNAME_PREFIX)) return this.authenticateOperator(client, username, password);
    if (transport(client) === "websocket") throw authError(NOT_AUTHORIZED, "kiosks connect over MQTT/TCP, not the WebSocket");
    return this.kioskAuth.byPassword(client, username, password, remoteAddress(client) ?? "unknown");
  }

  private authenticateOperator(client: Client, username: string, password: Buffer): Principal {
    if (transport(client) !== "websocket") throw authError(NOT_AUTHORIZED, "operators connect over the WebSocket (/mqtt on the HTTP port), not MQTT/TCP");
    const name = operatorNameFromUsername(username);
    if (name === null) throw authError(BAD_USERNAME_OR_PASSWORD, "username is not operator:NAME");
    if (!isOperatorClientId(client.id, name)) throw authError(IDENTIFIER_REJECTED, `client id must be ${username} or ${username}:SUFFIX`);
    if (this.deps.operators === undefined) throw authError(NOT_AUTHORIZED, "operators are not served");
    const result = this.deps.operators.verifyMqtt(name, password.toString("utf8"), client.id);
    if (!result.ok) throw authError(BAD_USERNAME_OR_PASSWORD, `${result.reason}: log in at POST /api/login and use its MQTT token`);
    return { role: "operator", name };
  }
}

/**
 * The embedded Aedes broker: kiosks on TCP, operators' browsers on a WebSocket that the HTTP server
 * hands over (handleWebSocket). Policy lives in small functions (auth, acl); this file only wires
 * them into Aedes' hooks and routes kiosk messages to their handlers.
 */
import type { IncomingMessage } from "node:http";
import type { Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Server as TlsServer, TLSSocket } from "node:tls";
import { Aedes, type Client } from "aedes";
import type { Logger } from "pino";
import { OPERATOR_ALARMS_TOPIC, type OperatorAlarm } from "../../shared/call.js";
import { type Clock, systemClock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { type Ack, parseTopic, type TopicName, topicFor, topics } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { OperatorAuth } from "../operators/auth.js";
import { FailedLoginLimiter } from "../operators/limiter.js";
import { isOperatorClientId, operatorNameFromUsername, OPERATOR_USERNAME_PREFIX } from "../operators/names.js";
import type { ServerTls } from "../pki/ca.js";
import type { GatewayStore } from "../store/store.js";
import { decidePublish, decideSubscribe, type Principal } from "./acl.js";
import { ConnectionRateLimiter, watchPacketSize } from "./guard.js";
import { authError, BAD_USERNAME_OR_PASSWORD, IDENTIFIER_REJECTED, KioskAuthenticator, NOT_AUTHORIZED, type RefusalError } from "./kiosk-auth.js";
import { listenMqtt, secureContextOptions } from "./listeners.js";
import { RefusalLog } from "./refusal-log.js";

/** Handles a message a kiosk published on one of its `up` topics. */
export type UpHandler = (kioskId: string, topic: string, payload: Buffer) => Promise<void>;

export interface BrokerDeps {
  readonly store: GatewayStore;
  readonly bus: EventBus<GatewayEvents>;
  readonly log: Logger;
  /** Without it, operators cannot connect. */
  readonly operators?: OperatorAuth;
  /** The server certificate and the CA for MQTT over TLS; without it, no TLS listener. */
  readonly tls?: ServerTls;
  readonly clock?: Clock;
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
  /** Refused connections, logged sampled (a flood would drown the log). */
  private readonly refusals: RefusalLog;
  private stopping = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: BrokerDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    const { limits } = config;
    this.kioskAuth = new KioskAuthenticator(deps.store, new FailedLoginLimiter(limits.maxAuthFailuresPerMinute, 60_000, clock));
    this.connections = new ConnectionRateLimiter(limits.connectionBurst, limits.connectionsPerSecond, clock);
    this.refusals = new RefusalLog(deps.log, { perKey: limits.refusalLogPerKey, total: limits.refusalLogTotal, windowMs: limits.refusalLogWindowMs });
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
      client.close();
    }
    return clients.size;
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
      id: this.config.broker.id,
      drainTimeout: this.config.broker.drainTimeoutMs,
      maxTopicLevels: this.config.broker.maxTopicLevels,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (principal) => {
            this.principals.set(client, principal);
            if (principal.role === "kiosk") {
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
      authorizePublish: (client, packet, done) => {
        const principal = client === null ? null : (this.principals.get(client) ?? null);
        const refuse = (reason: string): void => {
          log.warn({ clientId: client?.id ?? null, topic: packet.topic, reason }, "publish refused: client disconnected");
          this.deps.bus.emit("mqtt.refused", { what: "publish", reason: principal?.role ?? "none" });
          done(new Error(reason));
        };
        const decision = decidePublish(principal, packet.topic);
        if (!decision.allow) return refuse(decision.reason);
        if (principal?.role !== "operator") return done(null);
        // An operator writes only to kiosks that exist (not to topics a future kiosk id would use).
        const kioskId = parseTopic(packet.topic)?.kioskId ?? "";
        this.deps.store.getKiosk(kioskId).then(
          (kiosk) => (kiosk === undefined ? refuse(`kiosk ${kioskId} is not registered`) : done(null)),
          (err: unknown) => {
            log.error({ err }, "kiosk lookup failed");
            refuse("kiosk lookup failed");
          },
        );
      },
      authorizeSubscribe: (client, sub, done) => {
        const decision = decideSubscribe(this.principals.get(client) ?? null, sub.topic);
        if (decision.allow) return done(null, sub);
        log.warn({ clientId: client.id, topic: sub.topic, reason: decision.reason }, "subscription refused");
        this.deps.bus.emit("mqtt.refused", { what: "subscribe", reason: this.principals.get(client)?.role ?? "none" });
        done(null, null);
      },
      published: (packet, client, done) => {
        const principal = client === null ? undefined : this.principals.get(client);
        const parsed = parseTopic(packet.topic);
        const handler = parsed === null ? undefined : this.handlers.get(parsed.name);
        if (principal?.role !== "kiosk" || handler === undefined) return done();
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        handler(principal.kioskId, packet.topic, payload).then(
          () => done(),
          (err: unknown) => {
            log.error({ err, kioskId: principal.kioskId, topic: packet.topic }, "handling a kiosk message failed; the kiosk will resend");
            done();
          },
        );
      },
    });
    this.aedes = aedes;
    this.refusals.start();
    aedes.on("clientReady", (client) => {
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      if (principal.role === "operator") return log.info({ operator: principal.name, clientId: client.id, address: remoteAddress(client) }, "operator connected");
      this.connected.set(principal.kioskId, client);
      log.info({ kioskId: principal.kioskId, address: remoteAddress(client) }, "kiosk connected");
      this.deps.bus.emit("kiosk.connected", { kioskId: principal.kioskId });
    });
    aedes.on("clientDisconnect", (client) => {
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      if (principal.role === "operator") return log.info({ operator: principal.name, clientId: client.id }, "operator disconnected");
      // A kiosk that reconnected before its old connection closed keeps the new one.
      if (this.connected.get(principal.kioskId) === client) this.connected.delete(principal.kioskId);
      if (this.newest.get(principal.kioskId) !== client) {
        log.info({ kioskId: principal.kioskId }, "kiosk's old connection closed: it has already connected again");
        return;
      }
      this.newest.delete(principal.kioskId);
      log.info({ kioskId: principal.kioskId }, "kiosk disconnected");
      // The broker closing every connection at stop is the gateway going away, not the kiosks.
      if (!this.stopping) this.deps.bus.emit("kiosk.disconnected", { kioskId: principal.kioskId });
    });
    aedes.on("clientError", (client, err) => log.warn({ clientId: client.id, err: { message: err.message } }, "client error"));
    aedes.on("connectionError", (client, err) => log.warn({ clientId: client.id, err: { message: err.message } }, "connection error"));

    const plainEnabled = this.config.mqtt.enabled ?? this.config.profile === "dev";
    if (plainEnabled) this.plainPort = await this.listen("mqtt", aedes);
    if (this.deps.tls !== undefined) this.tlsPort = await this.listen("mqtts", aedes);
    if (!plainEnabled && this.deps.tls === undefined) {
      throw new SosError(ErrorCode.ConfigInvalid, "no MQTT listener: the password listener is off and there is no CA; run 'sos ca init --data-dir DIR' (or enable the password listener for development)");
    }
  }

  private async listen(kind: "mqtt" | "mqtts", aedes: Aedes): Promise<number> {
    const { server, port } = await listenMqtt(kind, {
      config: this.config,
      bus: this.deps.bus,
      connections: this.connections,
      refusals: this.refusals,
      sockets: this.sockets,
      aedes,
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
    const { maxPacketBytes } = this.config.limits;
    const refuse = (reason: string, label: string): void => {
      this.refusals.refused(label, { address, listener: "ws", reason });
      this.deps.bus.emit("mqtt.refused", { what: "connection", reason: label });
      stream.destroy();
    };
    if (!this.connections.take(address)) return refuse("too many connections from this address", "rate-limited");
    this.sockets.add(stream);
    stream.once("close", () => this.sockets.delete(stream));
    aedes.handle(stream, req);
    watchPacketSize(stream, maxPacketBytes, (announced) => refuse(`packet of ${announced} bytes is over the ${maxPacketBytes}-byte limit`, "packet-too-large"));
  }

  publishAck(kioskId: string, ack: Ack): Promise<void> {
    return this.publishDown("acks", kioskId, JSON.stringify(ack));
  }

  /** Tells every connected operator page about an alarm, before anyone answers its call. */
  publishOperatorAlarm(alarm: OperatorAlarm): Promise<void> {
    return this.publish(OPERATOR_ALARMS_TOPIC, JSON.stringify(alarm), 1);
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
    const aedes = this.aedes;
    const listening = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    if (aedes !== undefined && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes.close() closes only clients that completed CONNECT; a connection still authenticating
    // (or one that never sent CONNECT) would hold server.close() open until Aedes' 30 s connect timeout.
    for (const socket of this.sockets) socket.destroy();
    await listening;
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
    const result = this.deps.operators.verifyMqtt(name, password.toString("utf8"));
    if (!result.ok) throw authError(BAD_USERNAME_OR_PASSWORD, `${result.reason}: log in at POST /api/login and use its MQTT token`);
    return { role: "operator", name };
  }
}

/** A refused connection's metric label: the MQTT return code, not the message (which can name a client). */
function refusalLabel(returnCode: number | undefined): string {
  if (returnCode === IDENTIFIER_REJECTED) return "identifier-rejected";
  if (returnCode === BAD_USERNAME_OR_PASSWORD) return "bad-credentials";
  if (returnCode === NOT_AUTHORIZED) return "not-authorized";
  return "other";
}

function transport(client: Client): "tcp" | "websocket" {
  return client.req === undefined ? "tcp" : "websocket";
}

function remoteAddress(client: Client): string | undefined {
  if (client.req !== undefined) return client.req.socket.remoteAddress;
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress;
}

/**
 * The embedded Aedes broker, on TCP. Policy lives in small functions (auth, acl); this file only
 * wires them into Aedes' hooks and routes kiosk alerts into the pipeline.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import type { Logger } from "pino";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { type Ack, kioskIdSchema, parseTopic, topicFor } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import { VerifiedSecretCache } from "../registry/credentials.js";
import type { GatewayStore } from "../store/store.js";
import { decidePublish, decideSubscribe, type Principal } from "./acl.js";

// Aedes' AuthErrorCode is a const enum, which isolatedModules cannot import: the MQTT 3.1.1 codes.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;

export interface AlertHandler {
  handle(kioskId: string, topic: string, payload: Buffer): Promise<void>;
}

export interface BrokerDeps {
  readonly store: GatewayStore;
  readonly bus: EventBus<GatewayEvents>;
  readonly log: Logger;
}

function authError(returnCode: number, message: string): AuthenticateError {
  const err: AuthenticateError = Object.assign(new Error(message), { returnCode });
  return err;
}

export class GatewayBroker {
  readonly principals = new WeakMap<Client, Principal>();
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  /** Every open TCP connection, including those that have not completed MQTT CONNECT yet. */
  private readonly sockets = new Set<Socket>();
  private alerts: AlertHandler | undefined;
  private readonly secrets = new VerifiedSecretCache();

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: BrokerDeps,
  ) {}

  /** Alerts published before a handler is attached are answered by the kiosk's resend. */
  setAlertHandler(handler: AlertHandler): void {
    this.alerts = handler;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<number> {
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
            done(null, true);
          },
          (err: AuthenticateError) => {
            log.warn({ clientId: client.id, username, reason: err.message, address: remoteAddress(client) }, "connection refused");
            done(err, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        const decision = decidePublish(client === null ? null : (this.principals.get(client) ?? null), packet.topic);
        if (decision.allow) return done(null);
        log.warn({ clientId: client?.id ?? null, topic: packet.topic, reason: decision.reason }, "publish refused: client disconnected");
        done(new Error(decision.reason));
      },
      authorizeSubscribe: (client, sub, done) => {
        const decision = decideSubscribe(this.principals.get(client) ?? null, sub.topic);
        if (decision.allow) return done(null, sub);
        log.warn({ clientId: client.id, topic: sub.topic, reason: decision.reason }, "subscription refused");
        done(null, null);
      },
      published: (packet, client, done) => {
        const principal = client === null ? undefined : this.principals.get(client);
        const parsed = parseTopic(packet.topic);
        if (principal === undefined || parsed?.name !== "alerts" || this.alerts === undefined) return done();
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        this.alerts.handle(principal.kioskId, packet.topic, payload).then(
          () => done(),
          (err: unknown) => {
            log.error({ err, kioskId: principal.kioskId, topic: packet.topic }, "alert pipeline failed; the kiosk will resend");
            done();
          },
        );
      },
    });
    this.aedes = aedes;
    aedes.on("clientReady", (client) => {
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      log.info({ kioskId: principal.kioskId, address: remoteAddress(client) }, "kiosk connected");
      this.deps.bus.emit("kiosk.connected", { kioskId: principal.kioskId });
    });
    aedes.on("clientDisconnect", (client) => {
      const principal = this.principals.get(client);
      if (principal === undefined) return;
      log.info({ kioskId: principal.kioskId }, "kiosk disconnected");
      this.deps.bus.emit("kiosk.disconnected", { kioskId: principal.kioskId });
    });
    aedes.on("clientError", (client, err) => log.warn({ clientId: client.id, err: { message: err.message } }, "client error"));
    aedes.on("connectionError", (client, err) => log.warn({ clientId: client.id, err: { message: err.message } }, "connection error"));

    // No Nagle: an alert or an ack is one small packet that must not wait for a delayed TCP ack.
    const server = createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    this.server = server;
    const { host, port } = this.config.mqtt;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") {
          reject(new SosError(ErrorCode.PortInUse, `MQTT port ${port} on ${host} is already in use (another broker, such as Mosquitto?): choose another with --mqtt-port`));
        } else reject(err);
      });
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  /** Publishes a message to a kiosk on one of its `down` topics, QoS 1. */
  publishAck(kioskId: string, ack: Ack): Promise<void> {
    const aedes = this.aedes;
    if (aedes === undefined) return Promise.reject(new Error("broker not started"));
    return new Promise((resolve, reject) => {
      aedes.publish(
        { cmd: "publish", topic: topicFor("acks", kioskId), payload: Buffer.from(JSON.stringify(ack)), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Stops accepting connections, then closes the broker (which closes every client). */
  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    const listening = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    if (aedes !== undefined && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes.close() closes only clients that completed CONNECT; a connection still authenticating
    // (or one that never sent CONNECT) would hold server.close() open until Aedes' 30 s connect timeout.
    for (const socket of this.sockets) socket.destroy();
    await listening;
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    if (username === undefined || password === undefined) {
      throw authError(BAD_USERNAME_OR_PASSWORD, "no username or password");
    }
    if (!kioskIdSchema.safeParse(username).success) throw authError(BAD_USERNAME_OR_PASSWORD, "username is not a kiosk id");
    if (client.id !== username) throw authError(IDENTIFIER_REJECTED, "client id must equal the kiosk id");
    const kiosk = await this.deps.store.getKiosk(username);
    if (kiosk === undefined) throw authError(BAD_USERNAME_OR_PASSWORD, "unknown kiosk");
    const ok = await this.secrets.verify(password.toString("utf8"), kiosk.secretHash);
    if (!ok) throw authError(BAD_USERNAME_OR_PASSWORD, "wrong password");
    return { role: "kiosk", kioskId: kiosk.kioskId };
  }
}

function remoteAddress(client: Client): string | undefined {
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress;
}

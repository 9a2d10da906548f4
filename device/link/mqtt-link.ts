/**
 * The kiosk's MQTT connection to the gateway (kiosk-client.ts): clientId = kiosk id, persistent
 * session, QoS 1. Reconnects forever (reconnect-policy.ts: short waits while an SOS alert is
 * unacknowledged, longer ones when idle); a gateway that cannot be reached is logged, never a reason
 * to exit. Its subscriptions and the messages on the kiosk's own `down` topics: kiosk-topics.ts.
 *
 * Health (shared/health.ts): each CONNECT carries a retained last will `offline` (connection-lost)
 * on the kiosk's status topic; `online` is published (retained) once the link is up, after the
 * alert subscriptions, and `offline` (shutdown) before a deliberate stop, which then ends with a
 * clean DISCONNECT so the broker drops the will instead of sending it.
 *
 * Several gateway nodes (`mqtt.urls`, tried in the kiosk's own order: shared/gateway-order.ts): a
 * connection that fails or drops makes the next try go to the next node (round the list), with the
 * same backoff. Away from the first node of its order, a kiosk goes back to it now and then
 * (returnHome, home-return.ts): an attempt of at most RETURN_ATTEMPT_MS that, should home not take
 * it, or an alert come meanwhile, ends at once on the node it left.
 */
import { EventEmitter } from "node:events";
import type { MqttClient } from "mqtt";
import type { Logger } from "pino";
import type { CallDown, CallUp, Snapshot } from "../../shared/call.js";
import { type Clock, systemClock } from "../../shared/clock.js";
import { gatewayUrls, type KioskConfig } from "../../shared/config/kiosk.js";
import { gatewayOrder } from "../../shared/gateway-order.js";
import { type Heartbeat, OFFLINE_WILL, type Status, heartbeatSchema } from "../../shared/health.js";
import { type Ack, type Alert, type Command, type CommandResult, type TopicName, topicFor } from "../../shared/contract.js";
import { within } from "../lib/within.js";
import { connectKioskClient } from "./kiosk-client.js";
import { KioskTopics, SubscribeFailure } from "./kiosk-topics.js";
import { NodeList } from "./node-list.js";
import { PingProbe } from "./ping-probe.js";
import { ReconnectPolicy } from "./reconnect-policy.js";
import { guardTcpConnect } from "./tcp-connect-guard.js";

export { OFFLINE_WILL };

/** Bound on each step of a deliberate stop (offline status, clean disconnect). */
const STOP_STEP_MS = 1_000;
/** A return to the first node (returnHome) is up within this long, or ends on the node it left. */
export const RETURN_ATTEMPT_MS = 3_000;

export interface LinkIdentity {
  readonly agentVersion: string;
  readonly clock: Clock;
  /** Whether an SOS alert waits for its ack (connect.ts asks the outbox): reconnect waits are short then. */
  readonly urgent?: () => boolean;
}

export interface LinkEvents {
  up: [];
  down: [{ reason: string }];
  /** A gateway answered the CONNECT and refused this kiosk's credentials (CONNACK 4 or 5). */
  refused: [{ url: string; reason: string }];
  ack: [Ack];
  command: [Command];
  /** An operator's call signaling message (accept, answer, ice, hangup). */
  call: [CallDown];
}

export class MqttLink extends EventEmitter<LinkEvents> {
  private client: MqttClient | undefined;
  private readonly backoff: ReconnectPolicy;
  private stopping = false;
  private connected = false;
  private lastError: string | undefined;
  /** The last CONNACK refusal of this kiosk's credentials (4 bad username or password, 5 not authorized), until a connect. */
  private credentialsRefused: number | undefined;
  private tlsFailureLogged = false;
  /** The liveness probe of the current connection (ping-probe.ts). */
  private probe: PingProbe | undefined;
  private readonly topics: KioskTopics;
  private readonly nodes: NodeList;
  /** The current connection is being dropped to connect again with new credentials (same node, no wait). */
  private reloading = false;
  /** A return to the first node under way (returnHome): the node it left, and the attempt's deadline. */
  private returning: { readonly from: number; readonly timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly config: KioskConfig,
    private readonly log: Logger,
    private readonly identity: LinkIdentity = { agentVersion: "unknown", clock: systemClock },
  ) {
    super();
    this.backoff = new ReconnectPolicy(config.reconnect);
    this.topics = new KioskTopics(config.kioskId, log);
    this.nodes = new NodeList(gatewayOrder(gatewayUrls(config.mqtt), config.kioskId, config.mqtt.order));
  }

  /** The gateway URL the link connects (or will next connect) to. */
  get url(): string {
    return this.nodes.url;
  }

  /** Whether the current (or next) connection is to the first node of the kiosk's order: its home. */
  get atHome(): boolean {
    return this.nodes.atHome;
  }

  get homeUrl(): string {
    return this.nodes.home;
  }

  /**
   * Leaves a working node for the first of its order (home-return.ts says when): a clean disconnect
   * (no last will: the gateway sees a kiosk moving, not one dying) and a connect to home at once. An
   * attempt that is not up within RETURN_ATTEMPT_MS, that home refuses or closes, or that an alert
   * interrupts (hurry) ends on the node it left at once, without backoff: a kiosk is never away from
   * a working node longer than that (inside the gateway's move grace). False when not away, not up,
   * or a return is under way.
   */
  returnHome(): boolean {
    const client = this.client;
    if (this.stopping || !this.connected || this.atHome || client === undefined || this.returning !== undefined) return false;
    const from = this.nodes.position;
    this.log.info({ url: this.url, next: this.homeUrl }, "returning to its first gateway node");
    this.returning = { from, timer: setTimeout(() => this.endReturn(`not connected within ${RETURN_ATTEMPT_MS} ms`), RETURN_ATTEMPT_MS) };
    this.leave(client, "returning to its first gateway node");
    this.nodes.moveTo(0);
    this.start();
    return true;
  }

  /** A return that did not work out: back to the node it left, now. */
  private endReturn(reason: string): void {
    const r = this.returning;
    if (r === undefined) return;
    clearTimeout(r.timer);
    this.returning = undefined;
    const home = this.url;
    this.nodes.moveTo(r.from);
    this.log.warn({ url: home, back: this.url, reason }, "the first gateway node did not take the kiosk: back to the node it left");
    const client = this.client;
    if (client !== undefined) this.leave(client, reason);
    // A try that failed inside start() (a TLS file unreadable) left a backoff planned: this start replaces it.
    this.backoff.cancel();
    if (!this.stopping) this.start();
  }

  /** Drops a connection without its events reaching the link (a clean DISCONNECT, bounded, when it is up). */
  private leave(client: MqttClient, reason: string): void {
    const wasUp = this.connected;
    this.reloading = false;
    this.connected = false;
    this.probe?.stop();
    this.probe = undefined;
    client.removeAllListeners();
    client.on("error", () => undefined);
    if (wasUp) {
      this.emit("down", { reason });
      // mqtt.js ignores end(true) once a disconnect is under way: the socket itself is closed.
      void within(client.endAsync(false), STOP_STEP_MS).then((clean) => clean || client.stream.destroy());
    } else {
      client.end(true);
      client.stream.destroy();
    }
  }

  private urgent(): boolean {
    return this.identity.urgent?.() ?? false;
  }

  get isUp(): boolean {
    return this.connected;
  }

  start(): void {
    const m = this.config.mqtt;
    // Certificate kiosks: the files are read here, after the button is armed (the link loads last).
    // A missing or unreadable file is retried with backoff: alerts wait in the outbox meanwhile.
    // A key that does not match its certificate throws in mqtt.connect (the TLS context): retried the same way.
    let client: MqttClient;
    try {
      client = connectKioskClient(this.config, this.url, this.topics.status);
    } catch (err) {
      // A return home that cannot even start: back to the node it left (endReturn clears the return first).
      if (this.returning !== undefined) return this.endReturn((err as Error).message);
      const delayMs = this.backoff.next(this.urgent());
      if (m.tls === undefined) {
        // Not the TLS files: mqtt.js refused the address itself. The next node may be fine.
        const from = this.nodes.next();
        this.log.warn({ url: from, next: this.url, reason: (err as Error).message, delayMs }, "cannot connect to this gateway address (mqtt.url/urls in kiosk.json): trying the next");
        this.backoff.schedule(delayMs, () => {
          if (!this.stopping) this.start();
        });
        return;
      }
      // Said once (the start-up check, tls-recovery.ts, logs the error and what to do); the retries only at debug.
      const level = this.tlsFailureLogged ? "debug" : "warn";
      this.tlsFailureLogged = true;
      this.log[level]({ reason: (err as Error).message, delayMs }, "cannot use the kiosk's TLS files (mqtt.tls in kiosk.json): retrying");
      this.backoff.schedule(delayMs, () => {
        if (!this.stopping) this.start();
      });
      return;
    }
    this.tlsFailureLogged = false;
    // The first try is said (later ones are, with their reason, when one fails: onClose).
    if (this.client === undefined) this.log.info({ url: this.url, nodes: this.nodes.size }, "connecting to gateway");
    this.client = client;
    this.guardConnect(client);
    client.on("connect", () => this.onConnect(client));
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    client.on("error", (err) => {
      this.lastError = err.message;
      const code = (err as { code?: unknown }).code;
      if (code === 4 || code === 5) this.credentialsRefused = code;
      // The reason is said with "gateway unreachable: retrying" when the connection closes: here only at debug.
      this.log.debug({ err: { message: err.message, code: (err as { code?: unknown }).code } }, "gateway connection error");
    });
    client.on("close", () => this.onClose());
    client.on("packetreceive", () => this.probe?.heard());
  }

  /** A node that answers no TCP connect is given up before the CONNACK wait ends (tcp-connect-guard.ts). */
  private guardConnect(client: MqttClient): void {
    const m = this.config.mqtt;
    guardTcpConnect(client.stream, Math.min(m.tcpConnectTimeoutMs, m.connectTimeoutMs), (reason) => {
      if (client === this.client) this.lastError = reason;
    });
  }

  /** Drops the connection and connects again with the TLS files read afresh (a renewed certificate). */
  reloadCredentials(reason: string): void {
    this.log.info({ reason }, "reconnecting with new credentials");
    this.lastError = reason;
    // To the same node, at once: a new certificate is no reason to leave it.
    if (this.client === undefined || this.client.stream.destroyed) return;
    this.reloading = true;
    this.client.stream.destroy();
  }

  /** Publishes an alert at QoS 1; resolves when the broker has taken it (PUBACK). */
  publishAlert(alert: Alert): Promise<void> {
    return this.publishUp("alerts", alert);
  }

  publishCommandResult(result: CommandResult): Promise<void> {
    return this.publishUp("commandResults", result);
  }

  /** Call signaling to the operators (ring, offer, ice, state, hangup), QoS 1. */
  publishCallUp(msg: CallUp): Promise<void> {
    return this.publishUp("callUp", msg);
  }

  /** The camera still taken at the press, QoS 1. */
  publishSnapshot(snapshot: Snapshot): Promise<void> {
    return this.publishUp("snapshot", snapshot);
  }

  /**
   * The heartbeat, QoS 0 (checked against the contract first), with a PINGREQ right behind it. That
   * ping counts as one of the liveness probe's (ping-probe.ts), which sends its own only in between.
   * The gateway's PINGRESP restarts mqtt.js's keepalive timer, so mqtt.js sends no pings of its own.
   */
  async publishHeartbeat(heartbeat: Heartbeat): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.connected) throw new Error("not connected to the gateway");
    const payload = JSON.stringify(heartbeatSchema.parse(heartbeat));
    // Written in one go: the ping rides in the heartbeat's TCP segment instead of one of its own.
    client.stream.cork();
    const sent = client.publishAsync(topicFor("heartbeat", this.config.kioskId), payload, { qos: 0 });
    client.sendPing();
    process.nextTick(() => client.stream.uncork());
    this.probe?.pinged();
    await sent;
  }

  /**
   * Probes the new connection: a ping at most mqtt.pingIntervalMs after the last, and the link given
   * up when one goes unanswered for mqtt.pingTimeoutMs (a silently dead node is left within 10 s by
   * default, before mqtt.js's 1.5 × keepalive and the gateway's silence timeout of 20 s).
   */
  private startProbe(client: MqttClient): void {
    const { pingIntervalMs, pingTimeoutMs } = this.config.mqtt;
    this.probe?.stop();
    this.probe = new PingProbe(
      { intervalMs: pingIntervalMs, timeoutMs: pingTimeoutMs },
      () => client.sendPing(),
      (waitedMs) => {
        if (this.client !== client || !this.connected) return;
        this.lastError = "Ping timeout";
        this.log.warn({ waitedMs: Math.round(waitedMs), url: this.url }, "the gateway did not answer a ping: link given up");
        client.stream.destroy();
      },
    );
    this.probe.start();
  }

  private async publishUp(name: TopicName, payload: unknown): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.connected) throw new Error("not connected to the gateway");
    await client.publishAsync(topicFor(name, this.config.kioskId), JSON.stringify(payload), { qos: 1 });
  }

  /**
   * Says `offline` (retained) while still connected, then disconnects cleanly so the will is not sent.
   * Each step is bounded: a gateway that does not answer costs at most STOP_STEP_MS each.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.returning?.timer);
    this.returning = undefined;
    this.backoff.cancel();
    this.probe?.stop();
    const client = this.client;
    if (client === undefined) return;
    if (!this.connected) {
      await client.endAsync(true);
      return;
    }
    const offline: Status = { v: 1, state: "offline", reason: "shutdown", at: this.identity.clock.now().toISOString(), agentVersion: this.identity.agentVersion };
    const said = await within(client.publishAsync(this.topics.status, JSON.stringify(offline), { qos: 1, retain: true }), STOP_STEP_MS);
    if (!said) this.log.warn({ waitedMs: STOP_STEP_MS }, "offline status not confirmed before stop: the broker sends the last will instead");
    // mqtt.js ignores end(true) once a disconnect is under way: the socket itself is closed.
    if (!(await within(client.endAsync(false), STOP_STEP_MS))) client.stream.destroy();
  }

  private onConnect(client: MqttClient): void {
    // No Nagle: an alert is one small packet that must not wait for a delayed TCP ack.
    const stream = client.stream as { setNoDelay?: (on: boolean) => void };
    stream.setNoDelay?.(true);
    this.lastError = undefined;
    this.credentialsRefused = undefined;
    // The subscriptions come first: an alert published before them could have its ack lost.
    this.topics.subscribe(client).then(
      () => {
        // A client left meanwhile (a return home given up) is no longer the link's.
        if (client !== this.client) return;
        this.backoff.reset();
        this.connected = true;
        if (this.returning !== undefined && this.atHome) {
          clearTimeout(this.returning.timer);
          this.returning = undefined;
        }
        this.startProbe(client);
        this.log.info({ url: this.url }, "connected to gateway");
        this.emit("up");
        // After "up": the alerts waiting in the outbox go out first.
        const online: Status = { v: 1, state: "online", reason: "connected", at: this.identity.clock.now().toISOString(), agentVersion: this.identity.agentVersion };
        client.publishAsync(this.topics.status, JSON.stringify(online), { qos: 1, retain: true }).catch((err: unknown) => this.log.debug({ reason: (err as Error).message }, "online status not sent"));
      },
      (err: unknown) => {
        if (client !== this.client) return;
        // Either way the connection is dropped so the reconnect loop tries again with backoff,
        // instead of sitting connected but deaf to acks.
        this.lastError = (err as Error).message;
        if (err instanceof SubscribeFailure && err.refused) {
          this.log.error({ topics: [this.topics.ack, this.topics.commands], reason: this.lastError }, "gateway refused a subscription: check the kiosk's registration");
        } else {
          // The link, not the registration: the connection closed before the gateway answered.
          this.log.info({ reason: this.lastError }, "connection lost before the gateway answered the subscriptions: reconnecting");
        }
        client.stream.destroy();
      },
    );
  }

  private onMessage(topic: string, payload: Buffer): void {
    const message = this.topics.read(topic, payload);
    if (message?.kind === "ack") this.emit("ack", message.ack);
    else if (message?.kind === "command") this.emit("command", message.command);
    else if (message?.kind === "call") this.emit("call", message.call);
  }

  private onClose(): void {
    this.probe?.stop();
    this.probe = undefined;
    const wasUp = this.connected;
    this.connected = false;
    if (wasUp) this.emit("down", { reason: this.lastError ?? "connection closed" });
    const reload = this.reloading;
    this.reloading = false;
    if (this.stopping) return;
    // A return home that closed before it was up (refused, reset): back where it was, at once.
    if (this.returning !== undefined) return this.endReturn(this.lastError ?? "connection closed");
    if (reload) {
      this.backoff.schedule(0, () => this.reconnect());
      return;
    }
    // Several nodes: the next try goes to the next one (this one may be dead, or being upgraded).
    const from = this.nodes.next();
    const urgent = this.urgent();
    const delayMs = this.backoff.next(urgent);
    // Urgent tries come every few seconds: past the tenth, one in ten is logged above debug.
    const quiet = urgent && this.backoff.attempts > 10 && this.backoff.attempts % 10 !== 0;
    const fields = { attempt: this.backoff.attempts, delayMs, urgent, url: from, ...(this.url === from ? {} : { next: this.url }), reason: this.lastError ?? "connection closed" };
    if (this.credentialsRefused !== undefined) {
      // Reachable, but it will not take this kiosk: no retry mends that, a technician must.
      this.emit("refused", { url: from, reason: fields.reason });
      if (this.backoff.attempts === 1 || this.backoff.attempts % 10 === 0) {
        this.log.error(fields, "gateway refused this kiosk's credentials: retrying; check kiosk.json's mqtt username and password (re-provisioned or revoked at the gateway?)");
      }
    } else this.log[quiet ? "debug" : this.backoff.attempts > 3 ? "warn" : "info"](fields, "gateway unreachable: retrying");
    this.backoff.schedule(delayMs, () => this.reconnect());
  }

  private reconnect(): void {
    if (this.stopping) return;
    if (this.config.mqtt.tls === undefined && this.nodes.size === 1) {
      const client = this.client;
      client?.reconnect();
      if (client !== undefined) this.guardConnect(client);
      return;
    }
    // A certificate kiosk builds a new client, so files renewed since the last connect are read;
    // so does a kiosk moving to another node (a client keeps the URL it was made with).
    if (this.client !== undefined) this.leave(this.client, "reconnecting");
    this.start();
  }

  /**
   * An SOS alert was raised while the link is down: a reconnect planned further off than the urgent
   * cap happens now (a press during a long idle wait must not sit out the rest of it).
   */
  hurry(): void {
    if (this.stopping) return;
    // An alert during a return home: the node it left takes it now.
    if (this.returning !== undefined) return this.endReturn("an alert is waiting");
    const skippedMs = this.backoff.hurry();
    if (skippedMs !== undefined) this.log.info({ skippedMs }, "an alert is waiting: reconnecting now");
  }
}

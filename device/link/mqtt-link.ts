/**
 * The kiosk's MQTT connection to the gateway: clientId = kiosk id, persistent session, QoS 1.
 * Reconnects forever with the shared backoff helper; a gateway that cannot be reached is logged,
 * never a reason to exit. Messages on the kiosk's own `down` topics are validated before use.
 */
import { EventEmitter } from "node:events";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { Backoff } from "../../shared/backoff.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type Ack, type Alert, ackSchema, describeZodError, topicFor } from "../../shared/contract.js";

export interface LinkEvents {
  up: [];
  down: [{ reason: string }];
  ack: [Ack];
}

export class MqttLink extends EventEmitter<LinkEvents> {
  private client: MqttClient | undefined;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private connected = false;
  private lastError: string | undefined;
  private readonly ackTopic: string;
  private readonly alertTopic: string;

  constructor(
    private readonly config: KioskConfig,
    private readonly log: Logger,
  ) {
    super();
    this.backoff = new Backoff(config.reconnect);
    this.ackTopic = topicFor("acks", config.kioskId);
    this.alertTopic = topicFor("alerts", config.kioskId);
  }

  get isUp(): boolean {
    return this.connected;
  }

  start(): void {
    const { mqtt: m, kioskId } = this.config;
    const client = mqtt.connect(m.url, {
      clientId: kioskId,
      username: m.username,
      password: m.password,
      protocolVersion: 4,
      clean: false,
      keepalive: m.keepaliveSeconds,
      connectTimeout: m.connectTimeoutMs,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff
      queueQoSZero: false,
      resubscribe: false,
    });
    this.client = client;
    client.on("connect", () => this.onConnect(client));
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    client.on("error", (err) => {
      this.lastError = err.message;
      this.log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, "gateway connection error");
    });
    client.on("close", () => this.onClose());
  }

  /** Publishes an alert at QoS 1; resolves when the broker has taken it (PUBACK). */
  async publishAlert(alert: Alert): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.connected) throw new Error("not connected to the gateway");
    await client.publishAsync(this.alertTopic, JSON.stringify(alert), { qos: 1 });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (client !== undefined) await client.endAsync(true);
  }

  private onConnect(client: MqttClient): void {
    // No Nagle: an alert is one small packet that must not wait for a delayed TCP ack.
    const stream = client.stream as { setNoDelay?: (on: boolean) => void };
    stream.setNoDelay?.(true);
    this.lastError = undefined;
    // The ack subscription comes first: an alert published before it could have its ack lost.
    client.subscribeAsync(this.ackTopic, { qos: 1 }).then(
      () => {
        this.backoff.reset();
        this.connected = true;
        this.log.info({ url: this.config.mqtt.url }, "connected to gateway");
        this.emit("up");
      },
      (err: unknown) => {
        // mqtt.js rejects a refused subscription (SUBACK 128). Drop the connection so the reconnect
        // loop tries again with backoff, instead of sitting connected but deaf to acks.
        this.lastError = `ack subscription refused: ${(err as Error).message}`;
        this.log.error({ topic: this.ackTopic, reason: this.lastError }, "gateway refused the ack subscription: check the kiosk's registration");
        client.stream.destroy();
      },
    );
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== this.ackTopic) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      this.log.warn({ topic, bytes: payload.length }, "ignored an ack that is not JSON");
      return;
    }
    const parsed = ackSchema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ topic, reason: describeZodError(parsed.error) }, "ignored an ack that does not match the contract");
      return;
    }
    this.emit("ack", parsed.data);
  }

  private onClose(): void {
    const wasUp = this.connected;
    this.connected = false;
    if (wasUp) this.emit("down", { reason: this.lastError ?? "connection closed" });
    if (this.stopping) return;
    const delayMs = this.backoff.next();
    const level = this.backoff.attempts > 3 ? "warn" : "info";
    this.log[level](
      { attempt: this.backoff.attempts, delayMs, url: this.config.mqtt.url, reason: this.lastError ?? "connection closed" },
      "gateway unreachable: retrying",
    );
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopping) this.client?.reconnect();
    }, delayMs);
  }
}

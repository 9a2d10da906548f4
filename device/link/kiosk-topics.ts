/**
 * The kiosk's own topics on its link (mqtt-link.ts): the subscriptions each connection makes, and
 * the messages that come down on them, checked against the contract before use.
 * - Acks and commands come first, together: an alert published before them could have its ack lost,
 *   so the link is up only once the gateway granted them.
 * - Call signalling (`call/down`) is subscribed on its own, right behind: a gateway that refuses it
 *   leaves the kiosk without calls, never without alerts.
 */
import type { MqttClient } from "mqtt";
import type { Logger } from "pino";
import { type CallDown, callDownSchema } from "../../shared/call.js";
import { type Ack, type Command, ackSchema, commandSchema, describeZodError, topicFor } from "../../shared/contract.js";

/** A message from the gateway on one of the kiosk's topics, checked. */
export type DownMessage = { readonly kind: "ack"; readonly ack: Ack } | { readonly kind: "command"; readonly command: Command } | { readonly kind: "call"; readonly call: CallDown };

/** Why the subscriptions alerts need failed: `refused` by the gateway (the registration), or not answered (the link). */
export class SubscribeFailure extends Error {
  constructor(
    readonly refused: boolean,
    cause: unknown,
  ) {
    super(`${refused ? "subscription refused" : "connection lost while subscribing"}: ${(cause as Error).message}`);
  }
}

/**
 * Whether a subscription failed because the gateway refused it (a SUBACK with a 0x80 return code:
 * mqtt.js 5.16 rejects with the SUBACK as the error's `packet`) rather than because the connection
 * closed before the SUBACK came ("Connection closed", "client disconnecting": no packet). Only a
 * refusal is about the kiosk's registration.
 */
export function isSubscriptionRefusal(err: unknown): boolean {
  const granted = (err as { packet?: { granted?: unknown } } | undefined)?.packet?.granted;
  return Array.isArray(granted) && granted.some((code) => typeof code === "number" && (code & 0x80) !== 0);
}

export class KioskTopics {
  readonly ack: string;
  readonly commands: string;
  readonly callDown: string;
  readonly status: string;

  constructor(
    kioskId: string,
    private readonly log: Logger,
  ) {
    this.ack = topicFor("acks", kioskId);
    this.commands = topicFor("commands", kioskId);
    this.callDown = topicFor("callDown", kioskId);
    this.status = topicFor("status", kioskId);
  }

  /**
   * Subscribes a new connection: resolves once acks and commands are granted, rejects with a
   * SubscribeFailure when they are not. Call signalling's outcome is only logged.
   */
  subscribe(client: MqttClient): Promise<void> {
    const alerts = client.subscribeAsync([this.ack, this.commands], { qos: 1 }).then(
      () => undefined,
      (err: unknown) => {
        throw new SubscribeFailure(isSubscriptionRefusal(err), err);
      },
    );
    // Sent right behind the alert subscriptions (the broker handles them in order), but on its own:
    // its refusal costs calls only. The session is persistent, so it survives reconnects.
    client.subscribeAsync(this.callDown, { qos: 1 }).then(
      () => this.log.debug({ topic: this.callDown }, "subscribed to call signaling"),
      (err: unknown) => {
        if (isSubscriptionRefusal(err)) this.log.warn({ topic: this.callDown, reason: (err as Error).message }, "call signaling subscription failed: operators cannot call this kiosk on this connection; alerts are unaffected");
        else this.log.debug({ topic: this.callDown, reason: (err as Error).message }, "call signaling subscription interrupted: the connection closed");
      },
    );
    return alerts;
  }

  /** The message on one of the kiosk's topics, checked; undefined (a warning logged) when it is not JSON or not the contract's. */
  read(topic: string, payload: Buffer): DownMessage | undefined {
    const schema = topic === this.ack ? ackSchema : topic === this.commands ? commandSchema : topic === this.callDown ? callDownSchema : undefined;
    if (schema === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      this.log.warn({ topic, bytes: payload.length }, "ignored a message that is not JSON");
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ topic, reason: describeZodError(parsed.error) }, "ignored a message that does not match the contract");
      return undefined;
    }
    if (topic === this.ack) return { kind: "ack", ack: parsed.data as Ack };
    if (topic === this.commands) return { kind: "command", command: parsed.data as Command };
    return { kind: "call", call: parsed.data as CallDown };
  }
}

/**
 * The broker's refusals of publishes and subscriptions, in one place: the gate every packet passes
 * before Aedes handles it (gatePackets), the checks of Aedes' authorizePublish hook, and the log
 * lines (sampled) and metric of each refusal, wherever it is decided; also the sampled lines of
 * Aedes' client and connection errors.
 *
 * The gate checks what can be checked on the packet alone, before any hook, handler or store sees it:
 * - PUBLISH: the contract's QoS (no QoS 2), `retain` and payload cap (acl.ts decidePublishContract);
 * - SUBSCRIBE: the number of filters, and every filter against the ACL: one refused filter refuses
 *   the packet (Aedes would otherwise store a persistent session's whole filter list, refused filters
 *   included, with the first allowed one). A SUBSCRIBE before the CONNACK (no principal yet) is refused:
 *   our kiosks and pages subscribe once connected. QoS 2 asked in a SUBSCRIBE is granted as QoS 1;
 * - UNSUBSCRIBE: the number of filters.
 * A refused packet ends the connection (as a refused publish always has): its sender learns nothing
 * from a SUBACK, and a flood costs one sampled log line, not one per filter.
 */
import type { Aedes, Client } from "aedes";
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import { type Decision, decidePublish, decidePublishContract, decideSubscribePacket, type Principal } from "./acl.js";
import { gatePackets, type WirePacket } from "./guard.js";
import { isLoginRefusal } from "./kiosk-auth.js";
import { CLIENT_ERROR, CONNECTION_ERROR, PUBLISH_REFUSED, type RefusalLog, type SampledLine, SUBSCRIBE_REFUSED } from "./refusal-log.js";

/** A refusal the broker already logged: Aedes' 'clientError' that follows it is not logged again. */
export class RefusedError extends Error {}

export type Refusal = Extract<Decision, { allow: false }>;

export interface PacketGateDeps {
  readonly principals: WeakMap<Client, Principal>;
  readonly refusals: RefusalLog;
  readonly bus: EventBus<GatewayEvents>;
  readonly log: Logger;
  readonly maxFiltersPerSubscribe: number;
  readonly remoteAddress: (client: Client) => string | undefined;
}

export class PacketGate {
  private missingLogged = false;
  /** Connections cut because their kiosk was revoked: nothing more from them is published, not even their will. */
  private readonly revoked = new WeakSet<Client>();

  constructor(private readonly deps: PacketGateDeps) {}

  /** Puts the gate in front of Aedes for a new connection (right after aedes.handle()). */
  install(client: Client): void {
    if (gatePackets(client, (packet) => this.admit(client, packet)) || this.missingLogged) return;
    this.missingLogged = true;
    this.deps.log.error("the packet gate could not be installed (aedes' client parser has moved): SUBSCRIBE limits are not enforced; publishes are still checked in authorizePublish");
  }

  /** The client's kiosk was revoked (its connection is being closed): refuse anything it still publishes. */
  cut(client: Client): void {
    this.revoked.add(client);
  }

  /**
   * Aedes' client and connection errors (malformed packets, protocol errors, timeouts): any peer can
   * cause them, so they are logged sampled. A refusal's own error was logged as the refusal: a
   * refused publish's (RefusedError), or a refused login's (an MQTT return code, kiosk-auth.ts authError),
   * which Aedes hands on as the client's error once the CONNACK is written.
   */
  logErrors(aedes: Aedes): void {
    const fields = (client: Client, err: Error) => ({ clientId: client.id, address: this.deps.remoteAddress(client) ?? null, err: { message: err.message } });
    aedes.on("clientError", (client, err) => {
      if (!(err instanceof RefusedError) && !isLoginRefusal(err)) this.deps.refusals.refused("client-error", fields(client, err), CLIENT_ERROR);
    });
    aedes.on("connectionError", (client, err) => this.deps.refusals.refused("connection-error", fields(client, err), CONNECTION_ERROR));
  }

  /** Whether a packet may reach Aedes; a refused one is logged, counted, and ends the connection. */
  admit(client: Client, packet: WirePacket): boolean {
    const refusal = this.check(client, packet);
    if (refusal === undefined) return true;
    client.close();
    return false;
  }

  /**
   * The synchronous checks of Aedes' authorizePublish (wire publishes and last wills): the client was
   * not cut off (revoked), the contract's bounds, the ACL.
   */
  decidePublish(client: Client | null, packet: { topic: string; qos: number; retain: boolean; payload: Buffer | string }): Decision {
    if (client !== null && this.revoked.has(client)) return { allow: false, reason: "the kiosk was revoked", label: "revoked" };
    const contract = decidePublishContract({ topic: packet.topic, qos: packet.qos, retain: packet.retain, bytes: payloadBytes(packet.payload) });
    if (!contract.allow) return contract;
    return decidePublish(client === null ? null : (this.deps.principals.get(client) ?? null), packet.topic);
  }

  /** Logs (sampled) and counts a refused publish. */
  refusePublish(client: Client | null, topic: string, refusal: Refusal): void {
    this.refuse("publish", client, { topic, reason: refusal.reason }, refusal.label ?? "not-allowed", PUBLISH_REFUSED);
  }

  /** Logs (sampled) and counts a refused subscription. */
  refuseSubscribe(client: Client, topic: string | null, refusal: Refusal, line: SampledLine = SUBSCRIBE_REFUSED): void {
    this.refuse("subscribe", client, { topic, reason: refusal.reason }, refusal.label ?? "not-allowed", line);
  }

  private check(client: Client, packet: WirePacket): Refusal | undefined {
    if (packet.cmd === "publish") {
      const topic = packet.topic ?? "";
      const decision = decidePublishContract({ topic, qos: packet.qos ?? 0, retain: packet.retain === true, bytes: payloadBytes(packet.payload ?? "") });
      if (decision.allow) return undefined;
      this.refusePublish(client, topic, decision);
      return decision;
    }
    if (packet.cmd === "subscribe") {
      const subscriptions = packet.subscriptions ?? [];
      const principal = this.deps.principals.get(client) ?? null;
      const decision = decideSubscribePacket(principal, subscriptions.map((s) => s.topic), this.deps.maxFiltersPerSubscribe);
      if (decision.allow) {
        // The contract delivers at QoS 1 at most: granted (and delivered) as QoS 1.
        for (const s of subscriptions) s.qos = Math.min(s.qos, 1);
        return undefined;
      }
      this.refuseSubscribe(client, decision.filter ?? null, decision);
      return decision;
    }
    if (packet.cmd === "unsubscribe") {
      const count = packet.unsubscriptions?.length ?? 0;
      if (count <= this.deps.maxFiltersPerSubscribe) return undefined;
      const decision: Refusal = { allow: false, reason: `${count} filters in one UNSUBSCRIBE, over the limit of ${this.deps.maxFiltersPerSubscribe}`, label: "too-many-filters" };
      this.refuseSubscribe(client, null, decision);
      return decision;
    }
    return undefined;
  }

  private refuse(what: "publish" | "subscribe", client: Client | null, fields: Record<string, unknown>, label: string, line: SampledLine): void {
    const principal = client === null ? undefined : this.deps.principals.get(client);
    const address = client === null ? null : (this.deps.remoteAddress(client) ?? null);
    this.deps.refusals.refused(label, { clientId: client?.id ?? null, address, label, ...fields }, line);
    this.deps.bus.emit("mqtt.refused", { what, reason: label, role: principal?.role ?? "none" });
  }
}

function payloadBytes(payload: Buffer | string): number {
  return typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
}

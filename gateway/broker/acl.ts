/**
 * Broker policy as small pure functions, called from Aedes' hooks. A kiosk may publish only its own
 * `up` topics and subscribe only to its own `down` topics, exactly (no wildcards). Topics the
 * contract reserves for later features are refused until those features exist.
 *
 * An operator (a browser on the MQTT WebSocket) may subscribe to every kiosk's `call/up` and to the
 * operator alarms, and publish only on a kiosk's `call/down` (the broker also checks that the kiosk
 * is registered). Everything else is refused.
 *
 * Beside who may use a topic, the contract bounds how (decidePublishContract, decideSubscribePacket):
 * no QoS 2 (refused before Aedes stores anything: the contract uses QoS 0 and 1), `retain` only where
 * the contract retains (a kiosk's own status, and its last will), a payload no larger than its
 * topic's cap, and a bounded number of filters per SUBSCRIBE, each of which must be allowed.
 */
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import { parseTopic, TOPIC_PREFIX, topics } from "../../shared/contract.js";

export interface KioskPrincipal {
  readonly role: "kiosk";
  readonly kioskId: string;
  /** The client certificate's serial, on MQTT over TLS. */
  readonly serial?: string;
}

export interface OperatorPrincipal {
  readonly role: "operator";
  readonly name: string;
}

export type Principal = KioskPrincipal | OperatorPrincipal;

/** Every kiosk's call signaling, for the operator page. */
export const ALL_CALL_UP_FILTER = `${TOPIC_PREFIX}/+/${topics.callUp.suffix}`;

/**
 * Whether no client on any node may subscribe to this topic (decideSubscribe below): a kiosk's `up`
 * topics other than call/up (its alerts, heartbeats, status, command results, snapshots) are read
 * only by the node the kiosk is connected to, through the broker's `published` hook. A cluster node
 * keeps them to itself instead of publishing them to the other nodes (cluster/routing.ts).
 */
export function nobodySubscribes(topic: string): boolean {
  const parsed = parseTopic(topic);
  return parsed !== null && topics[parsed.name].direction === "up" && parsed.name !== "callUp";
}

/** A refusal's `label` is its metric label (a fixed word, never a client's data); `reason` is for the log. */
export type Decision = { readonly allow: true } | { readonly allow: false; readonly reason: string; readonly label?: string };

const allow: Decision = { allow: true };

export function decidePublish(principal: Principal | null, topic: string): Decision {
  if (principal === null) return { allow: false, reason: "no authenticated client (stale will)" };
  if (principal.role === "operator") return operatorPublish(topic);
  const parsed = parseTopic(topic);
  if (parsed === null) return { allow: false, reason: "topic is not in the sos/v1 contract" };
  if (parsed.kioskId !== principal.kioskId) return { allow: false, reason: `topic belongs to kiosk ${parsed.kioskId}` };
  const spec = topics[parsed.name];
  if (spec.direction !== "up") return { allow: false, reason: `${parsed.name} is published by the gateway, not by kiosks` };
  if (spec.reserved) return { allow: false, reason: `${parsed.name} is reserved and not yet served` };
  return allow;
}

export function decideSubscribe(principal: Principal | null, filter: string): Decision {
  if (principal === null) return { allow: false, reason: "no authenticated client" };
  if (principal.role === "operator") return operatorSubscribe(filter);
  if (filter.includes("#") || filter.includes("+")) return { allow: false, reason: "wildcard subscriptions are not allowed for kiosks" };
  const parsed = parseTopic(filter);
  if (parsed === null) return { allow: false, reason: "topic is not in the sos/v1 contract" };
  if (parsed.kioskId !== principal.kioskId) return { allow: false, reason: `topic belongs to kiosk ${parsed.kioskId}` };
  const spec = topics[parsed.name];
  if (spec.direction !== "down") return { allow: false, reason: `${parsed.name} is published by kiosks, not delivered to them` };
  if (spec.reserved) return { allow: false, reason: `${parsed.name} is reserved and not yet served` };
  return allow;
}

function operatorPublish(topic: string): Decision {
  const parsed = parseTopic(topic);
  if (parsed === null) return { allow: false, reason: "topic is not in the sos/v1 contract" };
  if (parsed.name !== "callDown") return { allow: false, reason: `operators may publish only on a kiosk's call/down, not ${parsed.name}` };
  return allow;
}

function operatorSubscribe(filter: string): Decision {
  if (filter === OPERATOR_ALARMS_TOPIC || filter === ALL_CALL_UP_FILTER) return allow;
  if (filter.includes("#") || filter.includes("+")) return { allow: false, reason: `operators may subscribe only to ${ALL_CALL_UP_FILTER} and ${OPERATOR_ALARMS_TOPIC}` };
  const parsed = parseTopic(filter);
  if (parsed?.name === "callUp") return allow;
  return { allow: false, reason: `operators may subscribe only to call/up and ${OPERATOR_ALARMS_TOPIC}` };
}

/** What the broker knows of a PUBLISH before handling it (the wire packet, or a last will). */
export interface PublishShape {
  readonly topic: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly bytes: number;
}

/**
 * The contract's bounds on any publish, whoever sends it: QoS 0 or 1, `retain` only on a topic the
 * contract retains, the payload within its topic's cap. Topics outside the contract are left to
 * decidePublish (which refuses them); the broker's packet limit bounds their size.
 */
export function decidePublishContract(p: PublishShape): Decision {
  if (p.qos > 1) return { allow: false, reason: "QoS 2 is not served: the contract uses QoS 0 and 1", label: "qos2" };
  const parsed = parseTopic(p.topic);
  const spec = parsed === null ? undefined : topics[parsed.name];
  if (p.retain && spec?.retain !== true) return { allow: false, reason: `retain is refused on ${parsed?.name ?? "a topic outside the contract"}: only a kiosk's status is retained`, label: "retain" };
  if (spec !== undefined && parsed !== null && p.bytes > spec.maxBytes) {
    return { allow: false, reason: `a ${p.bytes}-byte payload is over the ${spec.maxBytes}-byte cap of ${parsed.name}`, label: "payload-too-large" };
  }
  return allow;
}

/**
 * A whole SUBSCRIBE: at most `maxFilters` filters, each allowed for the principal. One refused filter
 * refuses the packet (the client is disconnected), so no filter of it is stored or logged one by one.
 */
export function decideSubscribePacket(principal: Principal | null, filters: readonly string[], maxFilters: number): Decision & { readonly filter?: string } {
  if (filters.length > maxFilters) return { allow: false, reason: `${filters.length} filters in one packet, over the limit of ${maxFilters}`, label: "too-many-filters" };
  for (const filter of filters) {
    const decision = decideSubscribe(principal, filter);
    if (!decision.allow) return { ...decision, label: "not-allowed", filter };
  }
  return allow;
}

/**
 * Broker policy as small pure functions, called from Aedes' hooks. A kiosk may publish only its own
 * `up` topics and subscribe only to its own `down` topics, exactly (no wildcards). Topics the
 * contract reserves for later features are refused until those features exist.
 *
 * An operator (a browser on the MQTT WebSocket) may subscribe to every kiosk's `call/up` and to the
 * operator alarms, and publish only on a kiosk's `call/down` (the broker also checks that the kiosk
 * is registered). Everything else is refused.
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

export type Decision = { readonly allow: true } | { readonly allow: false; readonly reason: string };

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

/**
 * Broker policy as small pure functions, called from Aedes' hooks. A kiosk may publish only its own
 * `up` topics and subscribe only to its own `down` topics, exactly (no wildcards). Topics the
 * contract reserves for later features are refused until those features exist.
 */
import { parseTopic, topics } from "../../shared/contract.js";

export interface KioskPrincipal {
  readonly role: "kiosk";
  readonly kioskId: string;
}

export type Principal = KioskPrincipal;

export type Decision = { readonly allow: true } | { readonly allow: false; readonly reason: string };

const allow: Decision = { allow: true };

export function decidePublish(principal: Principal | null, topic: string): Decision {
  if (principal === null) return { allow: false, reason: "no authenticated client (stale will)" };
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
  if (filter.includes("#") || filter.includes("+")) return { allow: false, reason: "wildcard subscriptions are not allowed for kiosks" };
  const parsed = parseTopic(filter);
  if (parsed === null) return { allow: false, reason: "topic is not in the sos/v1 contract" };
  if (parsed.kioskId !== principal.kioskId) return { allow: false, reason: `topic belongs to kiosk ${parsed.kioskId}` };
  const spec = topics[parsed.name];
  if (spec.direction !== "down") return { allow: false, reason: `${parsed.name} is published by kiosks, not delivered to them` };
  if (spec.reserved) return { allow: false, reason: `${parsed.name} is reserved and not yet served` };
  return allow;
}

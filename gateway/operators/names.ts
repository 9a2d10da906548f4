/**
 * Operator names and how they appear on MQTT. Kiosk ids cannot contain ':', so the `operator:`
 * prefix can never be mistaken for a kiosk, and an operator's client id can never take over a
 * kiosk's session (Aedes disconnects the older of two clients with the same id).
 */
import { z } from "zod";

export const operatorNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, "must be 1-32 lowercase letters, digits, '.', '-' or '_', starting with a letter or digit");

export const OPERATOR_USERNAME_PREFIX = "operator:";

export function operatorUsername(name: string): string {
  return `${OPERATOR_USERNAME_PREFIX}${name}`;
}

/** The operator name in an MQTT username `operator:NAME`, or null when it is not one. */
export function operatorNameFromUsername(username: string): string | null {
  if (!username.startsWith(OPERATOR_USERNAME_PREFIX)) return null;
  const name = username.slice(OPERATOR_USERNAME_PREFIX.length);
  return operatorNameSchema.safeParse(name).success ? name : null;
}

/** Each operator connection uses `operator:NAME` or `operator:NAME:SUFFIX` (one per browser tab). */
export function isOperatorClientId(clientId: string, name: string): boolean {
  const base = operatorUsername(name);
  return clientId === base || (clientId.startsWith(`${base}:`) && /^[A-Za-z0-9_-]{1,16}$/.test(clientId.slice(base.length + 1)));
}

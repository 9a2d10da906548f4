/**
 * The dispatch body port: which format the alert's body (and its later updates) take. "flat" is
 * `sos.dispatch.alert/v1` (payload.ts, the default), "eido" is NENA's EIDO (eido.ts, eido-update.ts).
 * Either body is built once, stored with the alert or the update, and sent as it is on every retry.
 */
import { createHash } from "node:crypto";
import type { Alert } from "../../shared/contract.js";
import { EIDO_UPDATE_STEPS, type Eido, type EidoUpdateStep } from "../../shared/eido.js";
import type { AlarmStep } from "../store/alarm-store.js";
import type { KioskRecord } from "../store/store.js";
import { buildEido } from "./eido.js";
import { buildEidoUpdate } from "./eido-update.js";
import { buildDispatchBody } from "./payload.js";

export const dispatchFormatNames = ["flat", "eido"] as const;
export type DispatchFormatName = (typeof dispatchFormatNames)[number];

/** The supervision view of the kiosk when its alert arrived. */
export interface HealthAtPress {
  readonly state: string;
  readonly since: string;
  readonly components: readonly string[];
}

export interface AlertBodyInput {
  readonly alert: Alert;
  readonly kiosk: KioskRecord | undefined;
  readonly receivedAt: Date;
  readonly agency: string;
  readonly snapshotUrl?: string | undefined;
  readonly health?: HealthAtPress | undefined;
  /** How the alert arrived: "sms" when the kiosk's IP link was down (docs/fallback.md); default MQTT. */
  readonly channel?: "mqtt" | "sms" | undefined;
}

export interface UpdateBodyInput {
  /** The alert's stored dispatch body (the incident's first EIDO). */
  readonly initialBody: string;
  /** The alarm's steps so far, oldest first; the update is for the last of them. */
  readonly steps: readonly AlarmStep[];
  readonly agency: string;
}

export interface DispatchBodyFormat {
  readonly name: DispatchFormatName;
  alertBody(input: AlertBodyInput): string;
  /** The update of the incident for the last step, or null when this format sends none (or the first body is not its own). */
  updateBody(input: UpdateBodyInput): string | null;
}

const flat: DispatchBodyFormat = {
  name: "flat",
  alertBody: (i) => buildDispatchBody(i.alert, i.kiosk, i.receivedAt, i.agency, i.snapshotUrl, i.channel),
  updateBody: () => null,
};

export function isEidoUpdateStep(type: string): type is EidoUpdateStep {
  return (EIDO_UPDATE_STEPS as readonly string[]).includes(type);
}

const eido: DispatchBodyFormat = {
  name: "eido",
  alertBody: (i) => JSON.stringify(buildEido(i)),
  updateBody: ({ initialBody, steps, agency }) => {
    let first: unknown;
    try {
      first = JSON.parse(initialBody);
    } catch {
      return null;
    }
    // An alert stored while the format was "flat" has no incident to update.
    if (typeof first !== "object" || first === null || (first as { eidoVersion?: unknown }).eidoVersion === undefined) return null;
    const last = steps.at(-1);
    if (last === undefined || !isEidoUpdateStep(last.type)) return null;
    return JSON.stringify(buildEidoUpdate(first as Eido, steps, agency));
  },
};

export function dispatchFormat(name: DispatchFormatName): DispatchBodyFormat {
  return name === "eido" ? eido : flat;
}

/** A call id as the key's last part: as it is when header-safe, else its SHA-256 (a kiosk chose it). */
function keyPart(callId: string): string {
  return /^[\w.~-]{1,64}$/.test(callId) ? callId : `sha256-${createHash("sha256").update(callId).digest("hex").slice(0, 32)}`;
}

/** The update's idempotency key (an HTTP header, and the outbox id): one per once-only step, one per call. */
export function updateKey(alertId: string, step: AlarmStep): string {
  const callId = step.type === "call-connected" && typeof step.detail.callId === "string" ? `:${keyPart(step.detail.callId)}` : "";
  return `${alertId}:${step.type}${callId}`;
}

/**
 * The dispatch webhook's body: the contract with the receiving side (CAD / dispatch). Each field maps
 * onto NENA's EIDO incident object; see docs/dispatch-webhook.md.
 */
import { z } from "zod";
import { alertKindSchema, kioskIdSchema } from "./contract.js";

export const DISPATCH_SCHEMA_ID = "sos.dispatch.alert/v1";

export const dispatchBodySchema = z.object({
  schema: z.literal(DISPATCH_SCHEMA_ID),
  alertId: z.uuid(),
  /** EIDO incidentTrackingIdentifier: urn:emergency:uid:incidentid:{alertId}:{agency} */
  incidentTrackingIdentifier: z.string(),
  kioskId: kioskIdSchema,
  kioskName: z.string().nullable(),
  kind: alertKindSchema,
  /** True for test alarms: a dispatch system must never page anyone for them. */
  test: z.boolean(),
  pressedAt: z.iso.datetime({ offset: true }),
  receivedAt: z.iso.datetime({ offset: true }),
  location: z.object({
    lat: z.number(),
    lon: z.number(),
    address: z.string(),
    /** "registry": the position provisioned for the kiosk at the gateway (trusted). */
    source: z.enum(["registry", "kiosk"]),
  }),
  /**
   * Where the still the kiosk took at the press can be fetched (GET, image/jpeg; 404 until the
   * kiosk has sent it, or when it has no camera). Absent when the gateway did not know its public URL.
   */
  snapshotUrl: z.url().optional(),
  /** "sms": the alert arrived by SMS, the kiosk's internet link being down (no video call; the kiosk rings the centre's voice number). Absent: over the kiosk's IP link. */
  channel: z.literal("sms").optional(),
});

export type DispatchBody = z.infer<typeof dispatchBodySchema>;

export const DISPATCH_HEADERS = {
  idempotencyKey: "idempotency-key",
  signature: "x-sos-signature",
  attempt: "x-sos-attempt",
} as const;

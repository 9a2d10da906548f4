/**
 * The operations webhook's body: a kiosk's supervision state changed, or it is still offline (a
 * reminder). Sent like the dispatch webhook (signed X-Sos-Signature, Idempotency-Key = eventId,
 * X-Sos-Attempt), to a separate URL with its own secret; see docs/supervision.md.
 */
import { z } from "zod";
import { kioskIdSchema } from "./contract.js";

export const OPS_SCHEMA_ID = "sos.ops.kiosk-state/v1";

export const kioskStateNames = ["online", "degraded", "offline", "never-seen", "decommissioned"] as const;
export const kioskStateNameSchema = z.enum(kioskStateNames);
export type KioskStateName = z.infer<typeof kioskStateNameSchema>;

export const opsEventSchema = z.object({
  schema: z.literal(OPS_SCHEMA_ID),
  /** Unique per event (each reminder has its own): the Idempotency-Key. */
  eventId: z.uuid(),
  /** "transition": the state (or the failing components) changed; "reminder": still offline. */
  type: z.enum(["transition", "reminder"]),
  kioskId: kioskIdSchema,
  kioskName: z.string().nullable(),
  address: z.string().nullable(),
  state: kioskStateNameSchema,
  previousState: kioskStateNameSchema,
  /** Why: connected, heartbeat, connection-lost, shutdown, heartbeats-missed, test-alarm, decommissioned, … */
  reason: z.string(),
  /** What fails while degraded (tamper, power, clock, test-alarm, selftest:camera, a kiosk fault name …). */
  components: z.array(z.string()),
  /** When the kiosk entered this state. */
  since: z.iso.datetime({ offset: true }),
  /** When this event was raised (the transition's time, or the reminder's). */
  at: z.iso.datetime({ offset: true }),
  /** 0 for a transition; 1, 2, … for the reminders while a kiosk stays offline. */
  reminder: z.number().int().min(0),
});
export type OpsEvent = z.infer<typeof opsEventSchema>;

/**
 * The gateway's own events on the same webhook (told apart by `schema`): dispatch unreachable for
 * `dispatch.unreachableAfterMs` and restored, and the gateway's event loop stalling (at most one
 * event per `stallReportMs`, counting the stalls in between). Not about any kiosk.
 */
export const OPS_GATEWAY_SCHEMA_ID = "sos.ops.gateway/v1";

export const gatewayOpsEventTypes = ["dispatch-unreachable", "dispatch-restored", "gateway-stalled"] as const;
export type GatewayOpsEventType = (typeof gatewayOpsEventTypes)[number];

export const gatewayOpsEventSchema = z.object({
  schema: z.literal(OPS_GATEWAY_SCHEMA_ID),
  eventId: z.uuid(),
  type: z.enum(gatewayOpsEventTypes),
  /** The gateway that saw it (its host name). */
  gateway: z.string(),
  /** dispatch-*: when dispatch first failed in this outage; gateway-stalled: when the first stall this event counts ended. */
  since: z.iso.datetime({ offset: true }),
  at: z.iso.datetime({ offset: true }),
  /** dispatch-*: the last error seen from dispatch. */
  lastError: z.string().nullable(),
  /** dispatch-restored: how long dispatch failed; gateway-stalled: the longest of its stalls. */
  durationMs: z.number().int().min(0).nullable(),
  /** gateway-stalled: stalls (over the threshold) since the last report, this one included. */
  stalls: z.number().int().min(0).nullable(),
});
export type GatewayOpsEvent = z.infer<typeof gatewayOpsEventSchema>;

/** What the ops outbox holds: a kiosk's state events and the gateway's own. */
export type OpsEventType = OpsEvent["type"] | GatewayOpsEventType;

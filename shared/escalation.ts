/**
 * The escalation webhook's body: an SOS alarm nobody at the console acknowledged in time
 * (`alarms.escalateAfterMs`, 30 s), and again every `alarms.escalationRepeatMs` until someone does.
 * Sent like the dispatch and ops webhooks (signed X-Sos-Signature, Idempotency-Key = eventId,
 * X-Sos-Attempt), to its own URL with its own secret; see docs/operator-console.md.
 */
import { z } from "zod";
import { kioskIdSchema } from "./contract.js";

export const ESCALATION_SCHEMA_ID = "sos.escalation.alarm/v1";

export const escalationEventSchema = z.object({
  schema: z.literal(ESCALATION_SCHEMA_ID),
  /** Unique per escalation (each repeat has its own): the Idempotency-Key. */
  eventId: z.uuid(),
  alertId: z.string(),
  kioskId: kioskIdSchema,
  kioskName: z.string().nullable(),
  address: z.string().nullable(),
  location: z.object({ lat: z.number(), lon: z.number() }).nullable(),
  pressedAt: z.iso.datetime({ offset: true }),
  receivedAt: z.iso.datetime({ offset: true }),
  /** 1 for the first escalation, 2, 3, … for the repeats. */
  escalation: z.number().int().min(1),
  /** Seconds since the gateway received the alarm, at this escalation. */
  unacknowledgedForS: z.number().min(0),
  at: z.iso.datetime({ offset: true }),
});
export type EscalationEvent = z.infer<typeof escalationEventSchema>;

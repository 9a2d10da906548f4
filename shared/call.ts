/**
 * Call signaling between a kiosk and an operator's browser, carried on the kiosk's `call/up` and
 * `call/down` topics (see contract.ts). One call per alarm; every message names its callId.
 *
 *   kiosk                         gateway/broker                    operator page
 *   ring {callId, alertId} ──────────────────────────────────────▶  shows "incoming", snapshot
 *                          ◀──────────────────────────────────────  accept {callId, operator}
 *   offer {sdp} ─────────────────────────────────────────────────▶  setRemote, answer
 *                          ◀──────────────────────────────────────  answer {sdp}
 *   ice ◀──────────────────────────────────────────────────────▶   ice
 *   state {connected | failed | ended}  ─────────────────────────▶
 *   hangup ◀───────────────────────────────────────────────────▶   hangup (either side)
 */
import { z } from "zod";

export const callIdSchema = z.string().min(8).max(64);

const iceCandidateSchema = z.object({
  candidate: z.string().max(2_000),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
});
export type IceCandidate = z.infer<typeof iceCandidateSchema>;

const sdp = z.string().min(1).max(64_000);

/** Identifies one operator page (a browser tab): two tabs of one login are two pages. */
const pageId = z.string().min(8).max(64).optional();

export const callStateSchema = z.enum(["ringing", "connecting", "connected", "ended", "failed"]);
export type CallState = z.infer<typeof callStateSchema>;

/** kiosk → operators */
export const callUpSchema = z.discriminatedUnion("type", [
  z.object({ v: z.literal(1), type: z.literal("ring"), callId: callIdSchema, alertId: z.string().max(64), at: z.iso.datetime({ offset: true }) }),
  /** `operator`: whose accept this offer answers; other pages that accepted the same ring stand down. */
  z.object({ v: z.literal(1), type: z.literal("offer"), callId: callIdSchema, sdp, operator: z.string().max(200).optional(), pageId }),
  z.object({ v: z.literal(1), type: z.literal("ice"), callId: callIdSchema, candidate: iceCandidateSchema }),
  z.object({
    v: z.literal(1),
    type: z.literal("state"),
    callId: callIdSchema,
    state: callStateSchema,
    reason: z.string().max(500).optional(),
    operator: z.string().max(200).optional(),
    pageId,
    /** On a `connected` repeated when the kiosk's link is back: the call's alarm (a restarted gateway knows no ring). */
    alertId: z.string().max(64).optional(),
  }),
  z.object({ v: z.literal(1), type: z.literal("hangup"), callId: callIdSchema, reason: z.string().max(500) }),
]);
export type CallUp = z.infer<typeof callUpSchema>;

export const hangupCauseSchema = z.enum(["operator", "page-gone"]);

/** operator → kiosk; once a page has accepted, the kiosk takes answer/ice/hangup only from that page. */
export const callDownSchema = z.discriminatedUnion("type", [
  z.object({ v: z.literal(1), type: z.literal("accept"), callId: callIdSchema, operator: z.string().max(200), pageId }),
  z.object({ v: z.literal(1), type: z.literal("answer"), callId: callIdSchema, sdp, pageId }),
  z.object({ v: z.literal(1), type: z.literal("ice"), callId: callIdSchema, candidate: iceCandidateSchema, pageId }),
  /**
   * `cause: "page-gone"`: the operator's page is going away (reloaded, closed, navigated off) mid-call,
   * not the operator ending the call: the kiosk rings again while its alarm is open, so that the caller
   * can be answered again (by that operator once the page is back, or by another).
   */
  z.object({ v: z.literal(1), type: z.literal("hangup"), callId: callIdSchema, reason: z.string().max(500), pageId, cause: hangupCauseSchema.optional() }),
]);
export type CallDown = z.infer<typeof callDownSchema>;

/** kiosk → gateway: a still from the camera at the press, shown to the operator before anyone answers. */
export const snapshotSchema = z.object({
  v: z.literal(1),
  alertId: z.string().max(64),
  takenAt: z.iso.datetime({ offset: true }),
  contentType: z.literal("image/jpeg"),
  /** base64 JPEG, at most ~190 KB of image. */
  data: z.base64().max(262_144),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

/** gateway → operators on `sos/v1/operators/alarms`: an alarm to show at once, with where to find its still. */
export const operatorAlarmSchema = z.object({
  v: z.literal(1),
  alertId: z.string(),
  kioskId: z.string(),
  kioskName: z.string().nullable(),
  kind: z.enum(["sos", "test"]),
  pressedAt: z.string(),
  receivedAt: z.string(),
  location: z.object({ lat: z.number(), lon: z.number(), address: z.string() }),
  snapshotUrl: z.string(),
  /** "sms": the alarm came over the kiosk's SMS fallback (docs/fallback.md), shown "via SMS". */
  channel: z.enum(["mqtt", "sms"]).optional(),
});
export type OperatorAlarm = z.infer<typeof operatorAlarmSchema>;

export const OPERATOR_ALARMS_TOPIC = "sos/v1/operators/alarms";

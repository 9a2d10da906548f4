/**
 * The typed IPC between WrtcMedia (parent, the kiosk agent) and the media process (child.ts): the
 * child's config (one JSON argument) and the messages each way, validated with zod on receipt.
 *
 *   parent → child: startCall, answer, ice, hangup, snapshot, shutdown
 *   child → parent: ready, offer, ice, state, snapshot, log
 *
 * One call at a time: a second startCall while one is live is answered with state failed "busy".
 * Every call ends with exactly one terminal state (failed or ended) unless the process dies, and
 * then the parent reports failed for it.
 */
import { z } from "zod";
import { callIdSchema, callStateSchema } from "../../../shared/call.js";
import { logLevelSchema } from "../../../shared/log.js";

const iceServerSchema = z.object({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

/** Same shape as shared/call.ts's candidate (RTCIceCandidateInit). */
const iceCandidateSchema = z.object({
  candidate: z.string().max(2_000),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
});

const sdp = z.string().min(1).max(64_000);

export const wrtcChildConfigSchema = z.object({
  capture: z.enum(["test", "device"]),
  videoDevice: z.string().min(1),
  audioDevice: z.string().min(1),
  width: z.number().int().min(16),
  height: z.number().int().min(16),
  fps: z.number().int().min(1),
  noMediaTimeoutMs: z.number().int().min(100),
  /** "aplay", "aplay:DEVICE" (aplay -D DEVICE), "file:PATH" (raw s16le 48 kHz mono appended) or "none". */
  speaker: z.string().regex(/^(aplay|aplay:.+|none|file:.+)$/, 'must be "aplay", "aplay:DEVICE", "none" or "file:PATH"'),
  ffmpeg: z.string().min(1),
  /** A snapshot ffmpeg still running after this long is killed and the answer is null. */
  snapshotTimeoutMs: z.number().int().min(100),
  logLevel: logLevelSchema,
});
export type WrtcChildConfig = z.infer<typeof wrtcChildConfigSchema>;

/** parent → child */
export const parentMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("startCall"), callId: callIdSchema, iceServers: z.array(iceServerSchema) }),
  z.object({ type: z.literal("answer"), callId: callIdSchema, sdp }),
  z.object({ type: z.literal("ice"), callId: callIdSchema, candidate: iceCandidateSchema }),
  z.object({ type: z.literal("hangup"), callId: callIdSchema }),
  z.object({ type: z.literal("snapshot"), requestId: z.number().int().nonnegative() }),
  /** Ends every call and exits cleanly (the parent also sends SIGTERM, handled the same way). */
  z.object({ type: z.literal("shutdown") }),
]);
export type ParentMessage = z.infer<typeof parentMessageSchema>;

const childLogLevel = logLevelSchema.exclude(["silent"]);
export type ChildLogLevel = z.infer<typeof childLogLevel>;

/** child → parent */
export const childMessageSchema = z.discriminatedUnion("type", [
  /** wrtc loaded; calls may start. */
  z.object({ type: z.literal("ready"), wrtcVersion: z.string().optional() }),
  z.object({ type: z.literal("offer"), callId: callIdSchema, sdp }),
  z.object({ type: z.literal("ice"), callId: callIdSchema, candidate: iceCandidateSchema }),
  z.object({ type: z.literal("state"), callId: callIdSchema, state: callStateSchema, reason: z.string().max(500).optional() }),
  /** base64 JPEG, or null when none could be taken in time. */
  z.object({ type: z.literal("snapshot"), requestId: z.number().int().nonnegative(), jpegBase64: z.string().nullable() }),
  /** One pino line of the child, re-logged by the parent at the same level. */
  z.object({ type: z.literal("log"), level: childLogLevel, msg: z.string(), fields: z.record(z.string(), z.unknown()) }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;

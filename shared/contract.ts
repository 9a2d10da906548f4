/**
 * The MQTT contract: one typed map from topic to payload schema, shared by the kiosk agent,
 * the gateway, the CLI and (later) the console. Validated at every boundary.
 *
 * Every topic lives under `sos/v1/kiosks/{kioskId}/`. `up` topics are published by the kiosk,
 * `down` topics by the gateway. Topics marked `reserved` are named now and implemented by later
 * issues; the broker refuses them until then.
 */
import { z } from "zod";
import { callDownSchema, callUpSchema, snapshotSchema } from "./call.js";
import { heartbeatSchema, kioskStateSchema, statusSchema } from "./health.js";
import { releaseManifestSchema } from "./release-manifest.js";

export const TOPIC_PREFIX = "sos/v1/kiosks";

/** Kiosk ids are safe as MQTT topic levels, client ids and file names. */
export const kioskIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit",
  );

export const locationSchema = z.object({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  address: z.string().max(500),
});
export type Location = z.infer<typeof locationSchema>;

export const alertKindSchema = z.enum(["sos", "test"]);
export type AlertKind = z.infer<typeof alertKindSchema>;

/** What the kiosk's own sensors said when the alert was raised (tamper switch, power supply). */
export { kioskStateSchema, type KioskState } from "./health.js";

/**
 * kiosk → gateway, QoS 1: an alarm, kept in the kiosk's outbox until acknowledged. Presses while
 * the alarm is open are sent again under the same alertId with a higher `pressCount`.
 */
export const alertSchema = z.object({
  v: z.literal(1),
  alertId: z.uuid(),
  kioskId: kioskIdSchema,
  kind: alertKindSchema,
  pressedAt: z.iso.datetime({ offset: true }),
  location: locationSchema,
  agentVersion: z.string().max(64).optional(),
  /** "button": a press; "hold-bypass": held past the bypass time (raised even while another is open). */
  trigger: z.enum(["button", "hold-bypass", "scheduled-test", "manual"]).optional(),
  /** Presses counted on this alarm so far (1 = the press that raised it). */
  pressCount: z.number().int().min(1).max(1_000_000).optional(),
  lastPressAt: z.iso.datetime({ offset: true }).optional(),
  kioskState: kioskStateSchema.optional(),
});
export type Alert = z.infer<typeof alertSchema>;

/** gateway → kiosk, QoS 1: the application acknowledgement. The alertId is the transaction id. */
export const ackSchema = z.discriminatedUnion("status", [
  z.object({
    v: z.literal(1),
    alertId: z.string(),
    status: z.literal("ok"),
    data: z.object({
      receivedAt: z.iso.datetime({ offset: true }),
      duplicate: z.boolean(),
      /** The press count the gateway has stored for this alert. */
      pressCount: z.number().int().min(1).optional(),
    }),
  }),
  z.object({
    v: z.literal(1),
    alertId: z.string(),
    status: z.literal("error"),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type Ack = z.infer<typeof ackSchema>;

/** gateway → kiosk, QoS 1: an instruction; the kiosk answers on `commandResults` with the same commandId. */
export const commandSchema = z.discriminatedUnion("type", [
  z.object({
    v: z.literal(1),
    commandId: z.uuid(),
    type: z.literal("close-alarm"),
    alertId: z.string().min(1).max(64),
    outcome: z.string().max(500),
    closedAt: z.iso.datetime({ offset: true }),
  }),
  /** Make a new key pair and answer with a CSR for it (data.csr); the key stays on the kiosk. */
  z.object({ v: z.literal(1), commandId: z.uuid(), type: z.literal("renew-certificate") }),
  /** The certificate for the renewed key: install it and reconnect with it. */
  z.object({ v: z.literal(1), commandId: z.uuid(), type: z.literal("install-certificate"), certificate: z.string().min(1).max(8_192) }),
  /**
   * A new agent release (`sos release offer`): download it from url, check it against the signed
   * manifest with the kiosk's own release key, install it and restart into it (device/update).
   * Answered "ok" once switched (or already running/tried); "error" when it is refused.
   */
  z.object({ v: z.literal(1), commandId: z.uuid(), type: z.literal("install-release"), release: releaseManifestSchema, url: z.url({ protocol: /^https?$/ }).max(2_048) }),
]);
export type Command = z.infer<typeof commandSchema>;

/** kiosk → gateway, QoS 1: the result of a command. */
export const commandResultSchema = z.discriminatedUnion("status", [
  z.object({ v: z.literal(1), commandId: z.string().min(1).max(64), status: z.literal("ok"), data: z.record(z.string(), z.unknown()).default({}) }),
  z.object({
    v: z.literal(1),
    commandId: z.string().min(1).max(64),
    status: z.literal("error"),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type CommandResult = z.infer<typeof commandResultSchema>;

interface TopicSpec<S extends z.ZodType> {
  readonly suffix: string;
  readonly direction: "up" | "down";
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly schema: S;
  readonly reserved: boolean;
  /**
   * The largest payload (bytes) the topic carries: the broker refuses a bigger publish and
   * disconnects its client. Each is above the largest payload its schema accepts (contract.test.ts).
   */
  readonly maxBytes: number;
}

function topic<S extends z.ZodType>(spec: TopicSpec<S>): TopicSpec<S> {
  return spec;
}

/**
 * Payload caps (`maxBytes`): an alert, an ack or a status is well under 1 KiB, and under 4 KiB with
 * the longest escaped address (alerts 16 KiB: the default of the alert pipeline's own
 * `alerts.maxPayloadBytes`, whose smaller configured limit records a refusal instead; acks 8 KiB;
 * status 2 KiB); a heartbeat ~2-3 KiB (64 KiB: above the supervisor's own 32 KiB default); a
 * certificate command or a CSR result under 10 KiB (16 KiB); call signalling carries an SDP of up to
 * 64 000 characters, each escaped to at most 2 bytes (128 KiB); a snapshot is up to 262 144 base64
 * characters plus its envelope (257 KiB). The broker's `limits.maxPacketBytes` (512 KiB) stays the
 * outer guard, checked before a packet is buffered.
 */
export const topics = {
  alerts: topic({ suffix: "alerts", direction: "up", qos: 1, retain: false, schema: alertSchema, reserved: false, maxBytes: 16_384 }),
  acks: topic({ suffix: "acks", direction: "down", qos: 1, retain: false, schema: ackSchema, reserved: false, maxBytes: 8_192 }),
  /** Kiosk health every few seconds while connected (shared/health.ts). */
  heartbeat: topic({ suffix: "heartbeat", direction: "up", qos: 0, retain: false, schema: heartbeatSchema, reserved: false, maxBytes: 65_536 }),
  /** online / offline, retained; the kiosk's MQTT last will says offline (shared/health.ts). */
  status: topic({ suffix: "status", direction: "up", qos: 1, retain: true, schema: statusSchema, reserved: false, maxBytes: 2_048 }),
  commands: topic({ suffix: "commands", direction: "down", qos: 1, retain: false, schema: commandSchema, reserved: false, maxBytes: 16_384 }),
  commandResults: topic({ suffix: "command-results", direction: "up", qos: 1, retain: false, schema: commandResultSchema, reserved: false, maxBytes: 16_384 }),
  callUp: topic({ suffix: "call/up", direction: "up", qos: 1, retain: false, schema: callUpSchema, reserved: false, maxBytes: 131_072 }),
  callDown: topic({ suffix: "call/down", direction: "down", qos: 1, retain: false, schema: callDownSchema, reserved: false, maxBytes: 131_072 }),
  snapshot: topic({ suffix: "snapshot", direction: "up", qos: 1, retain: false, schema: snapshotSchema, reserved: false, maxBytes: 263_168 }),
} as const;

export type TopicName = keyof typeof topics;
export type PayloadOf<T extends TopicName> = z.infer<(typeof topics)[T]["schema"]>;

export function topicFor(name: TopicName, kioskId: string): string {
  return `${TOPIC_PREFIX}/${kioskId}/${topics[name].suffix}`;
}

const bySuffix = new Map<string, TopicName>(
  (Object.keys(topics) as TopicName[]).map((name) => [topics[name].suffix, name]),
);

export interface ParsedTopic {
  readonly name: TopicName;
  readonly kioskId: string;
}

/** Maps a concrete topic back to its contract entry, or null when it is not in the contract. */
export function parseTopic(topicString: string): ParsedTopic | null {
  const prefix = `${TOPIC_PREFIX}/`;
  if (!topicString.startsWith(prefix)) return null;
  const rest = topicString.slice(prefix.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return null;
  const kioskId = rest.slice(0, slash);
  if (!kioskIdSchema.safeParse(kioskId).success) return null;
  const name = bySuffix.get(rest.slice(slash + 1));
  return name === undefined ? null : { name, kioskId };
}

/** One line naming each problem as path: message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/**
 * The MQTT contract as an AsyncAPI 3 document, generated from shared/contract.ts (every topic of the
 * `topics` map, plus the operators' alarm topic of shared/call.ts) with zod 4's own JSON Schema
 * output for each payload, and MQTT bindings (QoS, retain, the kiosk's last will). The checked-in
 * docs/asyncapi.yaml is this function's output (`npm run gen:asyncapi`); a unit test fails when they
 * differ, so the document cannot drift from the code.
 *
 * Operations are written from the point of view of a client of the gateway's broker, tagged with its
 * role: a kiosk sends its `up` topics and receives its `down` ones; an operator page receives every
 * kiosk's call/up and the alarm topic, and sends call/down. The broker refuses everything else.
 */
import { stringify } from "yaml";
import { z } from "zod";
import { OPERATOR_ALARMS_TOPIC, operatorAlarmSchema } from "../../shared/call.js";
import { kioskIdSchema, TOPIC_PREFIX, type TopicName, topics } from "../../shared/contract.js";
import { OFFLINE_WILL, statusSchema } from "../../shared/health.js";

export const ASYNCAPI_VERSION = "3.1.0";
const MQTT_BINDING = "0.2.0";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface ChannelSpec {
  readonly address: string;
  readonly schema: z.ZodType;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly maxBytes: number | null;
  readonly summary: string;
  /** Who publishes and who subscribes: [role, action] pairs. */
  readonly ops: readonly (readonly ["kiosk" | "operator", "send" | "receive"])[];
}

const SUMMARIES: Record<TopicName, string> = {
  alerts: "An alarm (SOS or test): kept in the kiosk's outbox until acknowledged on acks; repeated under the same alertId with a higher pressCount.",
  acks: "The gateway's application acknowledgement of an alert (alertId is the transaction id): ok with receivedAt, or error with a stable code.",
  heartbeat: "Kiosk health every intervalS seconds while connected: self-tests, link, outbox depth, faults.",
  status: "online / offline, retained. The kiosk's MQTT last will is the offline message with reason connection-lost.",
  commands: "An instruction to the kiosk (close-alarm, renew-certificate, install-certificate), repeated until answered on command-results.",
  commandResults: "The kiosk's result of a command, with the command's commandId.",
  callUp: "Call signalling from the kiosk to operator pages: ring, offer, ice, state, hangup.",
  callDown: "Call signalling from an operator page to the kiosk: accept, answer, ice, hangup.",
  snapshot: "A still from the kiosk's camera at the press (base64 JPEG), shown to the operator before anyone answers.",
};

/** A payload's JSON Schema (draft-07, AsyncAPI's default schema format) as the wire accepts it. */
export function payloadSchema(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { target: "draft-7", io: "input", unrepresentable: "throw" }) as Record<string, Json>;
  delete json.$schema;
  return json;
}

function channelSpecs(): Record<string, ChannelSpec> {
  const specs: Record<string, ChannelSpec> = {};
  for (const name of Object.keys(topics) as TopicName[]) {
    const t = topics[name];
    const kiosk = t.direction === "up" ? "send" : "receive";
    const ops: (readonly ["kiosk" | "operator", "send" | "receive"])[] = [["kiosk", kiosk]];
    if (name === "callUp") ops.push(["operator", "receive"]);
    if (name === "callDown") ops.push(["operator", "send"]);
    specs[name] = { address: `${TOPIC_PREFIX}/{kioskId}/${t.suffix}`, schema: t.schema, qos: t.qos, retain: t.retain, maxBytes: t.maxBytes, summary: SUMMARIES[name], ops };
  }
  specs.operatorAlarms = {
    address: OPERATOR_ALARMS_TOPIC,
    schema: operatorAlarmSchema,
    qos: 1,
    retain: false,
    maxBytes: null,
    summary: "Every new alarm for the operator pages, published by the gateway, with the kiosk's registered place and its snapshot link.",
    ops: [["operator", "receive"]],
  };
  return specs;
}

const kioskIdPattern = String((z.toJSONSchema(kioskIdSchema) as { pattern?: string }).pattern);
const KIOSK_ID_RULE = `A kiosk id: 1-64 letters, digits, '-' or '_', starting with a letter or digit (pattern ${kioskIdPattern}). A kiosk may use only its own.`;

const DESCRIPTION = `The MQTT contract between SOS kiosks, operator pages and the central gateway, generated from shared/contract.ts (do not edit by hand: npm run gen:asyncapi).

- MQTT 3.1.1 (protocol level 4). QoS 0 and 1 only: a QoS 2 publish or subscription is refused. retain only on a kiosk's own status topic (and its last will).
- Client ids. A kiosk connects with client id = MQTT username = its kiosk id (e.g. kz-ala-0001), a persistent session (clean session false), its password or, on MQTT over TLS, its client certificate (CN = kiosk id). An operator page connects over WebSocket (/mqtt) with username operator:NAME, its session's MQTT token as password, and client id operator:NAME or operator:NAME:SUFFIX (one per browser tab; SUFFIX 1-16 letters, digits, '-' or '_'). Kiosk ids cannot contain ':', so an operator can never take over a kiosk's session.
- Last will. Every kiosk CONNECT carries a will on its status topic, QoS 1, retained: ${JSON.stringify(OFFLINE_WILL)}. Before a deliberate stop the kiosk publishes offline with reason shutdown and disconnects cleanly, so the will is not sent.
- Access. A kiosk publishes only its own up topics and subscribes only to its own down topics, without wildcards. An operator subscribes to ${TOPIC_PREFIX}/+/call/up and ${OPERATOR_ALARMS_TOPIC}, and publishes only on a kiosk's call/down. A payload above its topic's x-sos-max-bytes ends the connection.
- Alarms are never lost: a kiosk keeps each alert in a durable outbox until the ack names its alertId; the gateway dedupes by alertId.`;

/** The AsyncAPI 3 document as a plain object. */
export function buildAsyncApi(version: string): Record<string, Json> {
  const specs = channelSpecs();
  const channels: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const perKiosk = spec.address.includes("{kioskId}");
    messages[name] = {
      name,
      title: name,
      summary: spec.summary,
      contentType: "application/json",
      payload: payloadSchema(spec.schema),
      ...(spec.maxBytes === null ? {} : { "x-sos-max-bytes": spec.maxBytes }),
    };
    channels[name] = {
      address: spec.address,
      title: name,
      summary: spec.summary,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      ...(perKiosk ? { parameters: { kioskId: { $ref: "#/components/parameters/kioskId" } } } : {}),
    };
    for (const [role, action] of spec.ops) {
      operations[`${role}${action === "send" ? "Sends" : "Receives"}${name[0]?.toUpperCase() ?? ""}${name.slice(1)}`] = {
        action,
        channel: { $ref: `#/channels/${name}` },
        summary: `${role === "kiosk" ? "A kiosk" : "An operator page"} ${action === "send" ? "publishes" : "subscribes to"} ${spec.address}.`,
        tags: [{ name: role }],
        bindings: { mqtt: { qos: spec.qos, retain: spec.retain, bindingVersion: MQTT_BINDING } },
        messages: [{ $ref: `#/channels/${name}/messages/${name}` }],
      };
    }
  }
  const will = { topic: `${TOPIC_PREFIX}/{kioskId}/${topics.status.suffix}`, qos: topics.status.qos, message: JSON.stringify(statusSchema.parse(OFFLINE_WILL)), retain: true };
  // A kiosk's session: persistent, its will, the kiosk config's default keepalive (mqtt.keepaliveSeconds).
  const kioskSession = { cleanSession: false, keepAlive: 12, lastWill: will, bindingVersion: MQTT_BINDING };
  const server = (host: string, protocol: string, description: string, pathname?: string): Json => ({
    host,
    protocol,
    protocolVersion: "3.1.1",
    ...(pathname === undefined ? {} : { pathname }),
    description,
    variables: { gateway: { default: "localhost", description: "The gateway's host name." } },
    ...(pathname === undefined ? { bindings: { mqtt: kioskSession } } : {}),
  });
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: "SOS kiosk MQTT contract",
      version,
      description: DESCRIPTION,
      tags: [
        { name: "kiosk", description: "Operations of a kiosk (client id = its kiosk id)." },
        { name: "operator", description: "Operations of an operator page (client id operator:NAME[:SUFFIX], over WebSocket)." },
      ],
    },
    defaultContentType: "application/json",
    servers: {
      mqtt: server("{gateway}:1883", "mqtt", "Kiosks with a password (dev profile, or --plain-mqtt)."),
      mqtts: server("{gateway}:8883", "secure-mqtt", "Kiosks with a client certificate issued by the gateway's CA (CN = kiosk id)."),
      websocket: server("{gateway}:8080", "wss", "Operator pages (HTTPS when the gateway has a CA; ws otherwise).", "/mqtt"),
    },
    channels,
    operations,
    components: {
      parameters: { kioskId: { description: KIOSK_ID_RULE, examples: ["kz-ala-0001"] } },
      messages,
    },
  };
}

export const ASYNCAPI_HEADER = "# Generated by scripts/gen-asyncapi.ts from shared/contract.ts: do not edit; run `npm run gen:asyncapi`.\n";

/** The document as checked in (YAML, no line folding, so a diff shows what changed). */
export function renderAsyncApi(version: string): string {
  return ASYNCAPI_HEADER + stringify(buildAsyncApi(version), { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Each topic's payload cap (contract.ts `maxBytes`) is above the largest payload its schema accepts
 * (a valid message must never cost a kiosk its connection), and decidePublishContract enforces the
 * caps, QoS and retain rules; decideSubscribePacket bounds a SUBSCRIBE.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decidePublishContract, decideSubscribePacket, type Principal } from "../../gateway/broker/acl.js";
import { type Alert, alertSchema, commandSchema, type TopicName, topicFor, topics } from "../../shared/contract.js";
import { callUpSchema, snapshotSchema } from "../../shared/call.js";
import { statusSchema } from "../../shared/health.js";

/** The worst case for a JSON string: every character a control character, escaped as \u00XX (6 bytes). */
const worst = (length: number): string => "\u0001".repeat(length);
const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));
const now = new Date().toISOString();

describe("topic payload caps", () => {
  it("hold the largest alert, status and certificate command the schemas accept", () => {
    const alert: Alert = {
      v: 1,
      alertId: randomUUID(),
      kioskId: "k".repeat(64),
      kind: "sos",
      pressedAt: now,
      location: { lat: -89.123456789, lon: -179.123456789, address: worst(500) },
      agentVersion: worst(64),
      trigger: "hold-bypass",
      pressCount: 1_000_000,
      lastPressAt: now,
      kioskState: { tamper: "closed", power: "battery", batteryPercent: 99.5 },
    };
    expect(alertSchema.safeParse(alert).success).toBe(true);
    expect(bytes(alert)).toBeLessThanOrEqual(topics.alerts.maxBytes);
    const status = { v: 1, state: "offline", reason: "connection-lost", at: now, agentVersion: worst(64) };
    expect(statusSchema.safeParse(status).success).toBe(true);
    expect(bytes(status)).toBeLessThanOrEqual(topics.status.maxBytes);
    const pemLines = Array.from({ length: Math.ceil(8_192 / 65) }, () => `${"A".repeat(64)}\n`).join("");
    const install = { v: 1, commandId: randomUUID(), type: "install-certificate", certificate: pemLines.slice(0, 8_192) };
    expect(commandSchema.safeParse(install).success).toBe(true);
    expect(bytes(install)).toBeLessThanOrEqual(topics.commands.maxBytes);
  });

  it("hold the largest SDP (every character escaped to 2 bytes) on call/up and the largest snapshot", () => {
    const offer = { v: 1, type: "offer", callId: "c".repeat(64), sdp: "\n".repeat(64_000), operator: "o".repeat(200), pageId: "p".repeat(64) };
    expect(callUpSchema.safeParse(offer).success).toBe(true);
    expect(bytes(offer)).toBeLessThanOrEqual(topics.callUp.maxBytes);
    expect(topics.callDown.maxBytes).toBe(topics.callUp.maxBytes);
    const snapshot = { v: 1, alertId: worst(64), takenAt: now, contentType: "image/jpeg", data: "A".repeat(262_144) };
    expect(snapshotSchema.safeParse(snapshot).success).toBe(true);
    expect(bytes(snapshot)).toBeLessThanOrEqual(topics.snapshot.maxBytes);
  });
});

describe("decidePublishContract", () => {
  const shape = (name: TopicName, extra: Partial<{ qos: number; retain: boolean; bytes: number }> = {}) => ({ topic: topicFor(name, "kz-1"), qos: 1, retain: false, bytes: 100, ...extra });

  it("refuses QoS 2 on every topic, in or out of the contract", () => {
    expect(decidePublishContract(shape("alerts", { qos: 2 }))).toMatchObject({ allow: false, label: "qos2" });
    expect(decidePublishContract({ topic: "any/thing", qos: 2, retain: false, bytes: 1 })).toMatchObject({ allow: false, label: "qos2" });
    expect(decidePublishContract(shape("alerts", { qos: 0 }))).toEqual({ allow: true });
  });

  it("allows retain only on a kiosk's status", () => {
    const retained = (Object.keys(topics) as TopicName[]).filter((name) => decidePublishContract(shape(name, { retain: true })).allow);
    expect(retained).toEqual(["status"]);
    expect(decidePublishContract(shape("callUp", { retain: true }))).toEqual({ allow: false, label: "retain", reason: "retain is refused on callUp: only a kiosk's status is retained" });
    expect(decidePublishContract({ topic: "sos/v1/operators/alarms", qos: 1, retain: true, bytes: 1 })).toMatchObject({ allow: false, label: "retain" });
  });

  it("refuses a payload one byte over its topic's cap, and allows one at it", () => {
    for (const name of Object.keys(topics) as TopicName[]) {
      expect(decidePublishContract(shape(name, { bytes: topics[name].maxBytes }))).toEqual({ allow: true });
      expect(decidePublishContract(shape(name, { bytes: topics[name].maxBytes + 1 }))).toMatchObject({ allow: false, label: "payload-too-large" });
    }
  });
});

describe("decideSubscribePacket", () => {
  const me: Principal = { role: "kiosk", kioskId: "kz-1" };

  it("allows the kiosk's own down topics up to the limit, and refuses one filter more", () => {
    expect(decideSubscribePacket(me, [topicFor("acks", "kz-1"), topicFor("commands", "kz-1")], 16)).toEqual({ allow: true });
    expect(decideSubscribePacket(me, Array.from({ length: 16 }, () => topicFor("acks", "kz-1")), 16)).toEqual({ allow: true });
    expect(decideSubscribePacket(me, Array.from({ length: 17 }, () => topicFor("acks", "kz-1")), 16)).toMatchObject({ allow: false, label: "too-many-filters" });
  });

  it("refuses the packet for one refused filter, naming it; and refuses any before the client is authenticated", () => {
    expect(decideSubscribePacket(me, [topicFor("acks", "kz-1"), "#"], 16)).toMatchObject({ allow: false, label: "not-allowed", filter: "#" });
    expect(decideSubscribePacket(null, [topicFor("acks", "kz-1")], 16)).toMatchObject({ allow: false, label: "not-allowed" });
  });
});

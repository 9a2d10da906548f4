import { describe, expect, it } from "vitest";
import { type TopicName, TOPIC_PREFIX, ackSchema, alertSchema, parseTopic, topicFor, topics } from "../../shared/contract.js";
import { heartbeatSchema, statusSchema } from "../../shared/health.js";

const validAlert = {
  v: 1,
  alertId: "3f0c8a52-9b1e-4c7a-8d2f-5e6a7b8c9d0e",
  kioskId: "kz-hwy-0001",
  kind: "sos",
  pressedAt: "2025-01-02T03:04:05.678Z",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
};

describe("topicFor / parseTopic", () => {
  it("round-trips every topic in the contract", () => {
    for (const name of Object.keys(topics) as TopicName[]) {
      for (const kioskId of ["k1", "kz-hwy-0001", "A_b-9"]) {
        const topic = topicFor(name, kioskId);
        expect(topic.startsWith(`${TOPIC_PREFIX}/${kioskId}/`)).toBe(true);
        expect(parseTopic(topic)).toEqual({ name, kioskId });
      }
    }
  });

  it("builds the documented topic strings", () => {
    expect(topicFor("alerts", "k1")).toBe("sos/v1/kiosks/k1/alerts");
    expect(topicFor("acks", "k1")).toBe("sos/v1/kiosks/k1/acks");
  });

  it("gives null for an unknown suffix", () => {
    expect(parseTopic("sos/v1/kiosks/k1/unknown")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/k1/alerts/extra")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/k1/call")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/k1/")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/k1")).toBeNull();
  });

  it("gives null for a wrong prefix", () => {
    expect(parseTopic("sos/v2/kiosks/k1/alerts")).toBeNull();
    expect(parseTopic("/sos/v1/kiosks/k1/alerts")).toBeNull();
    expect(parseTopic("sos/v1/kiosk/k1/alerts")).toBeNull();
    expect(parseTopic("other/k1/alerts")).toBeNull();
    expect(parseTopic("")).toBeNull();
  });

  it("gives null for a bad kiosk id", () => {
    expect(parseTopic("sos/v1/kiosks//alerts")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/+/alerts")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/#/alerts")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/-k1/alerts")).toBeNull();
    expect(parseTopic("sos/v1/kiosks/k 1/alerts")).toBeNull();
    expect(parseTopic(`sos/v1/kiosks/${"a".repeat(65)}/alerts`)).toBeNull();
  });
});

describe("alertSchema", () => {
  it("accepts a valid alert, with or without agentVersion", () => {
    expect(alertSchema.safeParse(validAlert).success).toBe(true);
    expect(alertSchema.safeParse({ ...validAlert, kind: "test", agentVersion: "0.1.0" }).success).toBe(true);
    expect(alertSchema.safeParse({ ...validAlert, pressedAt: "2025-01-02T09:04:05+06:00" }).success).toBe(true);
  });

  it("rejects an alertId that is not a uuid", () => {
    const r = alertSchema.safeParse({ ...validAlert, alertId: "not-a-uuid" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["alertId"]);
  });

  it("rejects an unknown kind", () => {
    const r = alertSchema.safeParse({ ...validAlert, kind: "fire" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["kind"]);
  });

  it("rejects a latitude outside -90..90", () => {
    for (const lat of [90.5, -91, Number.NaN]) {
      const r = alertSchema.safeParse({ ...validAlert, location: { ...validAlert.location, lat } });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["location", "lat"]);
    }
  });

  it("rejects a wrong version and a bad kiosk id", () => {
    expect(alertSchema.safeParse({ ...validAlert, v: 2 }).success).toBe(false);
    expect(alertSchema.safeParse({ ...validAlert, kioskId: "bad/id" }).success).toBe(false);
  });
});

describe("ackSchema", () => {
  it("accepts the ok variant", () => {
    const ack = { v: 1, alertId: validAlert.alertId, status: "ok", data: { receivedAt: "2025-01-02T03:04:06.000Z", duplicate: false } };
    expect(ackSchema.parse(ack)).toEqual(ack);
  });

  it("accepts the error variant", () => {
    const ack = { v: 1, alertId: validAlert.alertId, status: "error", error: { code: "PAYLOAD_INVALID", message: "kind: bad" } };
    expect(ackSchema.parse(ack)).toEqual(ack);
  });

  it("rejects an ok ack without data, an error ack without error, and an unknown status", () => {
    expect(ackSchema.safeParse({ v: 1, alertId: "x", status: "ok" }).success).toBe(false);
    expect(ackSchema.safeParse({ v: 1, alertId: "x", status: "error" }).success).toBe(false);
    expect(ackSchema.safeParse({ v: 1, alertId: "x", status: "maybe", data: { receivedAt: "2025-01-02T03:04:06.000Z", duplicate: false } }).success).toBe(false);
  });
});

describe("health topics (heartbeat, status)", () => {
  it("are served: heartbeat QoS 0 not retained, status QoS 1 retained, each with its schema", () => {
    expect(topics.heartbeat).toMatchObject({ suffix: "heartbeat", direction: "up", qos: 0, retain: false, reserved: false, schema: heartbeatSchema });
    expect(topics.status).toMatchObject({ suffix: "status", direction: "up", qos: 1, retain: true, reserved: false, schema: statusSchema });
  });

  it("the last will (no time) and a shutdown status parse; an unknown state does not", () => {
    expect(statusSchema.parse({ v: 1, state: "offline", reason: "connection-lost" })).toEqual({ v: 1, state: "offline", reason: "connection-lost" });
    expect(statusSchema.safeParse({ v: 1, state: "offline", reason: "shutdown", at: "2025-01-02T03:04:05.678Z", agentVersion: "0.1.0" }).success).toBe(true);
    expect(statusSchema.safeParse({ v: 1, state: "sleeping" }).success).toBe(false);
  });

  it("a heartbeat without system readings (null) parses; a seq of 0 or a missing interval does not", () => {
    const hb = {
      v: 1,
      seq: 1,
      sentAt: "2025-01-02T03:04:05.678Z",
      intervalS: 10,
      agentVersion: "0.1.0",
      uptimeS: 5,
      system: { uptimeS: 100, cpuTempC: null, load1: 0, memFreeMb: 100, diskFreeMb: null },
      link: { type: "unknown", iface: null, signalDbm: null },
      outboxDepth: 0,
      openAlarm: null,
      faults: [],
      selfTests: [],
      lastTestAlarmAt: null,
      kioskState: {},
    };
    expect(heartbeatSchema.safeParse(hb).success).toBe(true);
    expect(heartbeatSchema.safeParse({ ...hb, seq: 0 }).success).toBe(false);
    expect(heartbeatSchema.safeParse({ ...hb, intervalS: undefined }).success).toBe(false);
    // A kiosk may not promise silence for longer than its own config allows (nor overflow a timer).
    expect(heartbeatSchema.safeParse({ ...hb, intervalS: 3_600 }).success).toBe(true);
    expect(heartbeatSchema.safeParse({ ...hb, intervalS: 3_601 }).success).toBe(false);
  });
});

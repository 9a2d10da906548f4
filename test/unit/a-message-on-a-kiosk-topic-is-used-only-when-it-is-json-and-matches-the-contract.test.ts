/**
 * The kiosk's link checks what comes down on its own topics (device/link/kiosk-topics.ts): an ack, a
 * command or a call message is used only when it is JSON and matches the contract; anything else is
 * dropped with one warning naming the topic, and a topic that is not the kiosk's is not read at all.
 */
import { describe, expect, it } from "vitest";
import { KioskTopics } from "../../device/link/kiosk-topics.js";
import { LogCapture } from "../fixtures/log-capture.js";

const ACK = { v: 1, alertId: "0190f3a0-0000-7000-8000-000000000001", status: "ok", data: { receivedAt: "2026-12-07T01:00:00.000Z", duplicate: false } };

describe("a message on a kiosk's own topic", () => {
  const setup = () => {
    const logs = new LogCapture();
    return { logs, topics: new KioskTopics("kz-ala-0001", logs.logger("kiosk")) };
  };

  it("is used when it is JSON and the contract's", () => {
    const { logs, topics } = setup();
    expect(topics.read(topics.ack, Buffer.from(JSON.stringify(ACK)))).toEqual({ kind: "ack", ack: ACK });
    expect(logs.lines.filter((l) => l.level === "warn" || Number(l.level) >= 40)).toEqual([]);
  });

  it("is dropped with a warning naming its topic when it is not JSON, or not the contract's", () => {
    const { logs, topics } = setup();
    expect(topics.read(topics.ack, Buffer.from("{not json"))).toBeUndefined();
    expect(topics.read(topics.commands, Buffer.from(JSON.stringify({ v: 1, type: "no-such-command" })))).toBeUndefined();
    expect(topics.read(topics.callDown, Buffer.from(JSON.stringify(ACK)))).toBeUndefined();
    expect(logs.find("ignored a message that is not JSON", (l) => l.topic === topics.ack)).toHaveLength(1);
    expect(logs.find("ignored a message that does not match the contract", (l) => l.topic === topics.commands)).toHaveLength(1);
    expect(logs.find("ignored a message that does not match the contract", (l) => l.topic === topics.callDown)).toHaveLength(1);
  });

  it("on a topic that is not the kiosk's is not read", () => {
    const { logs, topics } = setup();
    expect(topics.read("sos/v1/kiosks/kz-ala-0002/acks", Buffer.from(JSON.stringify(ACK)))).toBeUndefined();
    expect(topics.read(topics.status, Buffer.from("{not json"))).toBeUndefined();
    expect(logs.lines).toEqual([]);
  });
});

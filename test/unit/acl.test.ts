import { describe, expect, it } from "vitest";
import { ALL_CALL_UP_FILTER, type Principal, decidePublish, decideSubscribe, nobodySubscribes } from "../../gateway/broker/acl.js";
import { type TopicName, topicFor, topics } from "../../shared/contract.js";

const me: Principal = { role: "kiosk", kioskId: "kz-hwy-0001" };
const names = Object.keys(topics) as TopicName[];
const served = (direction: "up" | "down"): TopicName[] => names.filter((n) => topics[n].direction === direction && !topics[n].reserved);
const reserved = (direction: "up" | "down"): TopicName[] => names.filter((n) => topics[n].direction === direction && topics[n].reserved);
const ofDirection = (direction: "up" | "down"): TopicName[] => names.filter((n) => topics[n].direction === direction);

function refused(decision: ReturnType<typeof decidePublish>): string {
  expect(decision.allow).toBe(false);
  return decision.allow ? "" : decision.reason;
}

describe("decidePublish", () => {
  it("allows a kiosk to publish on its own up topics", () => {
    expect(served("up")).toContain("alerts");
    for (const name of served("up")) expect(decidePublish(me, topicFor(name, me.kioskId))).toEqual({ allow: true });
  });

  it("refuses another kiosk's topics", () => {
    expect(refused(decidePublish(me, topicFor("alerts", "kz-hwy-0002")))).toContain("kz-hwy-0002");
    expect(refused(decidePublish(me, topicFor("alerts", "KZ-HWY-0001")))).toContain("KZ-HWY-0001");
  });

  it("refuses its own down topics (wrong direction)", () => {
    expect(refused(decidePublish(me, topicFor("acks", me.kioskId)))).toContain("published by the gateway");
    for (const name of ofDirection("down")) expect(refused(decidePublish(me, topicFor(name, me.kioskId)))).toContain("published by the gateway");
  });

  it("refuses every reserved topic", () => {
    for (const name of reserved("up")) expect(refused(decidePublish(me, topicFor(name, me.kioskId)))).toContain("reserved");
  });

  it("refuses topics outside the contract and wildcard-looking topics", () => {
    for (const topic of ["other/topic", "sos/v1/kiosks/kz-hwy-0001/unknown", "sos/v1/kiosks/+/alerts", "sos/v1/kiosks/#", "$SYS/broker", "sos/v1/kiosks/kz-hwy-0001/alerts/"]) {
      expect(refused(decidePublish(me, topic))).not.toBe("");
    }
  });

  it("refuses a null principal (a stale will, or an unauthenticated client)", () => {
    expect(decidePublish(null, topicFor("alerts", me.kioskId)).allow).toBe(false);
  });
});

describe("decideSubscribe", () => {
  it("allows a kiosk to subscribe to its own down topics, exactly", () => {
    expect(served("down")).toContain("acks");
    for (const name of served("down")) expect(decideSubscribe(me, topicFor(name, me.kioskId))).toEqual({ allow: true });
  });

  it("refuses another kiosk's topics", () => {
    expect(refused(decideSubscribe(me, topicFor("acks", "kz-hwy-0002")))).toContain("kz-hwy-0002");
  });

  it("refuses its own up topics (wrong direction)", () => {
    expect(refused(decideSubscribe(me, topicFor("alerts", me.kioskId)))).toContain("published by kiosks");
    for (const name of ofDirection("up")) expect(refused(decideSubscribe(me, topicFor(name, me.kioskId)))).toContain("published by kiosks");
  });

  it("refuses every wildcard filter, even one that would only match its own topics", () => {
    for (const filter of ["#", "+/+", "sos/v1/kiosks/+/acks", "sos/v1/kiosks/#", "sos/v1/kiosks/kz-hwy-0001/#", "sos/v1/kiosks/kz-hwy-0001/+"]) {
      expect(refused(decideSubscribe(me, filter))).toContain("wildcard");
    }
  });

  it("refuses every reserved topic", () => {
    for (const name of reserved("down")) expect(refused(decideSubscribe(me, topicFor(name, me.kioskId)))).toContain("reserved");
  });

  it("refuses topics outside the contract", () => {
    for (const filter of ["$SYS/broker/clients", "sos/v1/kiosks/kz-hwy-0001", "sos/v2/kiosks/kz-hwy-0001/acks"]) {
      expect(decideSubscribe(me, filter).allow).toBe(false);
    }
  });

  it("refuses a null principal", () => {
    expect(decideSubscribe(null, topicFor("acks", me.kioskId)).allow).toBe(false);
  });
});

describe("nobodySubscribes (what a cluster node keeps off Redis)", () => {
  const operator: Principal = { role: "operator", name: "duty" };
  it("holds for exactly the topics no kiosk and no operator may subscribe to, filter or exact name", () => {
    for (const name of names) {
      const topic = topicFor(name, me.kioskId);
      const someone = [decideSubscribe(me, topic), decideSubscribe(operator, topic), decideSubscribe(operator, `sos/v1/kiosks/+/${topics[name].suffix}`)].some((d) => d.allow);
      expect({ name, nobody: nobodySubscribes(topic) }).toEqual({ name, nobody: !someone });
    }
    expect(nobodySubscribes(topicFor("heartbeat", me.kioskId))).toBe(true);
    expect(nobodySubscribes(ALL_CALL_UP_FILTER.replace("+", me.kioskId))).toBe(false);
    expect(nobodySubscribes("$SOS/console/kiosks")).toBe(false);
    expect(nobodySubscribes("$SYS/gw-a/new/clients")).toBe(false);
  });
});

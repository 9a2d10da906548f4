/**
 * Call hijack (issue 11, item 3): kiosk A publishing on its own call/up a ring that names kiosk B's
 * open alarm must reach no operator (B's card would ring, and whoever answered would be talking to A
 * while seeing B's address and photo). A's ring on its own alarm still does, and A stays connected:
 * refused call messages are dropped, counted and logged (sampled), not answered with a disconnect.
 * Call messages that break the contract are dropped and counted too (item 8).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { topicFor } from "../../shared/contract.js";
import { deferCleanups } from "./cleanups.js";
import { startCallRig } from "./call-rig.js";
import { waitFor } from "./harness.js";

const A = "kz-hijack-a";
const B = "kz-hijack-b";
const C = "kz-hijack-c";
const AT = new Date().toISOString();

describe("a kiosk's ring may name only its own alarm", () => {
  const defer = deferCleanups();

  it("A's ring naming B's open alarm never reaches an operator; A's ring on its own alarm does, and A stays connected", async () => {
    const { gateway, kiosks, operator } = await startCallRig(defer, [A, B]);
    const [a, b] = kiosks;
    if (a === undefined || b === undefined) throw new Error("two kiosks expected");
    const page = await operator("op7");
    const bAlarm = await b.raise();
    const aAlarm = await a.raise();

    await a.callUp({ type: "ring", callId: "call-hijack-0001", alertId: bAlarm, at: AT });
    // A ring naming no stored alarm, and messages that break the contract (a retained ring costs the
    // kiosk its connection before this check: retained-publish-is-refused-except-status.test.ts).
    await a.callUp({ type: "ring", callId: "call-hijack-0003", alertId: "no-such-alarm", at: AT });
    await a.client.publishAsync(`sos/v1/kiosks/${A}/call/up`, "not json", { qos: 1 });
    await a.client.publishAsync(`sos/v1/kiosks/${A}/call/up`, JSON.stringify({ v: 1, type: "ring", callId: "x" }), { qos: 1 });
    // The legitimate ring, after them on the same connection: once it is in, the others would have been.
    await a.callUp({ type: "ring", callId: "call-own-0001", alertId: aAlarm, at: AT });
    await waitFor(() => page.received.some((m) => m.body.callId === "call-own-0001"), "A's ring on its own alarm at the operator");
    expect(page.received).toEqual([{ topic: `sos/v1/kiosks/${A}/call/up`, body: { v: 1, type: "ring", callId: "call-own-0001", alertId: aAlarm, at: AT } }]);

    // A page connecting later gets no forged ring either.
    const late = await operator("op8");
    await a.callUp({ type: "hangup", callId: "call-own-0001", reason: "test over" });
    await waitFor(() => late.received.some((m) => m.body.type === "hangup"), "the hangup at the late page");
    expect(late.received.map((m) => m.body.callId)).toEqual(["call-own-0001"]);

    expect(a.client.connected).toBe(true);
    expect(gateway.logs.find("publish refused: client disconnected")).toEqual([]);
    const refused = gateway.logs.find("call message refused: dropped");
    expect(refused.map((l) => [l.kioskId, l.reason])).toEqual([
      [A, "another-kiosks-alarm"],
      [A, "unknown-alarm"],
      [A, "malformed"],
      [A, "malformed"],
    ]);
    const { body } = await gateway.metrics.render();
    expect(body).toContain('sos_call_messages_refused_total{direction="up",reason="another-kiosks-alarm"} 1');
    expect(body).toContain('sos_call_messages_refused_total{direction="up",reason="unknown-alarm"} 1');
    expect(body).toContain('sos_call_messages_refused_total{direction="up",reason="malformed"} 2');
  });

  it("an operator who accepts B's card reaches B: A's forged ring never got to the page, so B's is the only ring to accept", async () => {
    const { kiosks, operator } = await startCallRig(defer, [A, B]);
    const [a, b] = kiosks;
    if (a === undefined || b === undefined) throw new Error("two kiosks expected");
    const page = await operator("op7");
    const bAlarm = await b.raise();
    await a.callUp({ type: "ring", callId: "call-hijack-0001", alertId: bAlarm, at: AT });
    await b.callUp({ type: "ring", callId: "call-b-0001", alertId: bAlarm, at: AT });
    const rings = await waitFor(() => {
      const r = page.received.filter((m) => m.body.type === "ring" && m.body.alertId === bAlarm);
      return r.length > 0 && r;
    }, "a ring for B's alarm");
    expect(rings.map((m) => m.topic)).toEqual([`sos/v1/kiosks/${B}/call/up`]);
    await page.callDown(B, { type: "accept", callId: "call-b-0001", operator: "op7", pageId: "page-0000000001" });
    await waitFor(() => b.down.length > 0, "the accept at B");
    expect(a.down).toEqual([]);
  });

  it("a ring sent with its own alert (both leave the kiosk together) waits for the alert to be stored and reaches the operator, not dropped as unknown", async () => {
    const { gateway, kiosks, operator } = await startCallRig(defer, [C]);
    const [c] = kiosks;
    if (c === undefined) throw new Error("one kiosk expected");
    const page = await operator("op9");
    const alertId = randomUUID();
    const alert = { v: 1, alertId, kioskId: C, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "C's address" } };
    // Written in one go: the ring's check runs while the alert is still being stored.
    await Promise.all([
      c.client.publishAsync(topicFor("alerts", C), JSON.stringify(alert), { qos: 1 }),
      c.callUp({ type: "ring", callId: "call-with-alert-0001", alertId, at: AT }),
    ]);
    await waitFor(() => page.received.some((m) => m.body.callId === "call-with-alert-0001"), "the ring at the operator");
    expect(gateway.logs.find("call message refused: dropped")).toEqual([]);
    const { body } = await gateway.metrics.render();
    expect(body).not.toContain('reason="unknown-alarm"');
  });
});

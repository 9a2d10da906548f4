/**
 * Who is in a call on an alarm, as the gateway tracks it from the kiosks' `call/up` messages and the
 * operator pages' accepts on `call/down`: the close route refuses another operator's close while a
 * call is live; only the ringing kiosk's own calls count; who answered is the operator whose
 * authenticated page sent the accept the kiosk took, not the name the kiosk states.
 */
import { describe, expect, it } from "vitest";
import { type CallEntry, KioskCalls } from "../../gateway/alarms/calls.js";

const AT = "2026-11-25T10:00:00.000Z";
const up = (m: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 1, ...m }));

function connectedCall(calls: KioskCalls, kioskId = "kz-1", callId = "call-0001", alertId = "alert-1", operator = "alice"): void {
  calls.up(kioskId, up({ type: "ring", callId, alertId, at: AT }));
  calls.down(operator, kioskId, { v: 1, type: "accept", callId, operator, pageId: `page-${operator}` });
  calls.up(kioskId, up({ type: "state", callId, state: "connecting", operator, pageId: `page-${operator}` }));
  calls.up(kioskId, up({ type: "state", callId, state: "connected" }));
}

describe("live calls on alarms", () => {
  it("a call is live from connected, with the operator whose accept the kiosk took; ringing or connecting is not", () => {
    const calls = new KioskCalls(() => undefined);
    calls.up("kz-1", up({ type: "ring", callId: "call-0001", alertId: "alert-1", at: AT }));
    calls.down("alice", "kz-1", { v: 1, type: "accept", callId: "call-0001", operator: "alice", pageId: "page-0001" });
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connecting", operator: "alice", pageId: "page-0001" }));
    expect(calls.inCall("alert-1", "kz-1")).toBeUndefined();
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected" }));
    expect(calls.inCall("alert-1", "kz-1")).toEqual({ operator: "alice" });
    expect(calls.inCall("alert-2", "kz-1")).toBeUndefined();
  });

  it("a call of another kiosk naming this alarm does not count for it", () => {
    const calls = new KioskCalls(() => undefined);
    connectedCall(calls, "kz-attacker", "call-0001", "alert-of-kz-1", "alice");
    expect(calls.inCall("alert-of-kz-1", "kz-1")).toBeUndefined();
    expect(calls.inCall("alert-of-kz-1", "kz-attacker")).toEqual({ operator: "alice" });
  });

  it("the operator is the authenticated page's whose accept the kiosk took, not the name the kiosk states", () => {
    const seen: CallEntry[] = [];
    const calls = new KioskCalls((call) => seen.push(call));
    calls.up("kz-1", up({ type: "ring", callId: "call-0001", alertId: "alert-1", at: AT }));
    calls.down("alice", "kz-1", { v: 1, type: "accept", callId: "call-0001", operator: "mallory", pageId: "page-alice" });
    calls.down("bob", "kz-1", { v: 1, type: "accept", callId: "call-0001", operator: "bob", pageId: "page-bob" });
    // An accept seen on another kiosk's call/down is not an accept of this call.
    calls.down("carol", "kz-2", { v: 1, type: "accept", callId: "call-0001", operator: "carol", pageId: "page-carol" });
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connecting", operator: "carol", pageId: "page-alice" }));
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected" }));
    expect(seen.map((c) => c.operator)).toEqual(["alice"]);
    expect(calls.inCall("alert-1", "kz-1")).toEqual({ operator: "alice" });
  });

  it("a kiosk naming a page nobody accepted from leaves the operator unknown", () => {
    const seen: CallEntry[] = [];
    const calls = new KioskCalls((call) => seen.push(call));
    calls.up("kz-1", up({ type: "ring", callId: "call-0001", alertId: "alert-1", at: AT }));
    calls.down("bob", "kz-1", { v: 1, type: "accept", callId: "call-0001", operator: "bob", pageId: "page-bob" });
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connecting", operator: "alice", pageId: "page-nobody" }));
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected" }));
    expect(seen.map((c) => c.operator)).toEqual([null]);
    expect(calls.inCall("alert-1", "kz-1")).toEqual({ operator: null });
  });

  it.each([
    ["ended", up({ type: "state", callId: "call-0001", state: "ended" })],
    ["failed", up({ type: "state", callId: "call-0001", state: "failed", reason: "no media" })],
    ["hung up", up({ type: "hangup", callId: "call-0001", reason: "caller left" })],
  ])("a call %s is no longer live", (_name, message) => {
    const calls = new KioskCalls(() => undefined);
    connectedCall(calls);
    calls.up("kz-1", message);
    expect(calls.inCall("alert-1", "kz-1")).toBeUndefined();
  });

  it("a kiosk that connects again has a live call only once it says connected again (a restarted kiosk's call is gone); another kiosk's call stays live", () => {
    const calls = new KioskCalls(() => undefined);
    connectedCall(calls, "kz-1", "call-0001", "alert-1");
    connectedCall(calls, "kz-2", "call-0002", "alert-2", "bob");
    calls.kioskBack("kz-1");
    expect(calls.inCall("alert-1", "kz-1")).toBeUndefined();
    expect(calls.inCall("alert-2", "kz-2")).toEqual({ operator: "bob" });
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected", operator: "alice" }));
    expect(calls.inCall("alert-1", "kz-1")).toEqual({ operator: "alice" });
  });

  it("reports a call's first connected once (the lifecycle step), not again after an ICE restart", () => {
    const seen: CallEntry[] = [];
    const calls = new KioskCalls((call) => seen.push(call));
    connectedCall(calls);
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected" }));
    expect(seen.map((c) => [c.kioskId, c.callId, c.alertId, c.operator])).toEqual([["kz-1", "call-0001", "alert-1", "alice"]]);
  });

  it("a live call repeated with its alarm after the kiosk's link is back is known even by a gateway that never heard it ring (restarted), without a second call step", () => {
    const steps: CallEntry[] = [];
    const calls = new KioskCalls((call) => steps.push(call));
    calls.kioskBack("kz-1");
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected", operator: "alice", alertId: "alert-1" }));
    // No accept was seen by this gateway: the close guard names the operator the kiosk states.
    expect(calls.inCall("alert-1", "kz-1")).toEqual({ operator: "alice" });
    expect(steps).toEqual([]);
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "ended" }));
    expect(calls.inCall("alert-1", "kz-1")).toBeUndefined();
  });

  it("ignores malformed messages and calls it never heard ring", () => {
    const calls = new KioskCalls(() => undefined);
    calls.up("kz-1", Buffer.from("{not json"));
    calls.up("kz-1", up({ type: "state", callId: "call-0009", state: "connected" }));
    calls.down("alice", "kz-1", { v: 1, type: "accept", callId: "call-0009", operator: "alice" });
    expect(calls.inCall("alert-1", "kz-1")).toBeUndefined();
  });
});

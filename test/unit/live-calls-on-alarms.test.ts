/**
 * Who is in a call on an alarm, as the gateway tracks it from the kiosks' `call/up` messages: the
 * close route refuses another operator's close while a call is live.
 */
import { describe, expect, it } from "vitest";
import { type CallEntry, KioskCalls } from "../../gateway/alarms/calls.js";

const AT = "2026-11-25T10:00:00.000Z";
const up = (m: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 1, ...m }));

function connectedCall(calls: KioskCalls, kioskId = "kz-1", callId = "call-0001", alertId = "alert-1", operator = "alice"): void {
  calls.up(kioskId, up({ type: "ring", callId, alertId, at: AT }));
  calls.up(kioskId, up({ type: "state", callId, state: "connecting", operator }));
  calls.up(kioskId, up({ type: "state", callId, state: "connected" }));
}

describe("live calls on alarms", () => {
  it("a call is live from connected, with the operator whose accept the kiosk took; ringing or connecting is not", () => {
    const calls = new KioskCalls(() => undefined);
    calls.up("kz-1", up({ type: "ring", callId: "call-0001", alertId: "alert-1", at: AT }));
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connecting", operator: "alice" }));
    expect(calls.inCall("alert-1")).toBeUndefined();
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected" }));
    expect(calls.inCall("alert-1")).toEqual({ operator: "alice" });
    expect(calls.inCall("alert-2")).toBeUndefined();
  });

  it.each([
    ["ended", up({ type: "state", callId: "call-0001", state: "ended" })],
    ["failed", up({ type: "state", callId: "call-0001", state: "failed", reason: "no media" })],
    ["hung up", up({ type: "hangup", callId: "call-0001", reason: "caller left" })],
  ])("a call %s is no longer live", (_name, message) => {
    const calls = new KioskCalls(() => undefined);
    connectedCall(calls);
    calls.up("kz-1", message);
    expect(calls.inCall("alert-1")).toBeUndefined();
  });

  it("a kiosk that connects again has a live call only once it says connected again (a restarted kiosk's call is gone); another kiosk's call stays live", () => {
    const calls = new KioskCalls(() => undefined);
    connectedCall(calls, "kz-1", "call-0001", "alert-1");
    connectedCall(calls, "kz-2", "call-0002", "alert-2", "bob");
    calls.kioskBack("kz-1");
    expect(calls.inCall("alert-1")).toBeUndefined();
    expect(calls.inCall("alert-2")).toEqual({ operator: "bob" });
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "connected", operator: "alice" }));
    expect(calls.inCall("alert-1")).toEqual({ operator: "alice" });
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
    expect(calls.inCall("alert-1")).toEqual({ operator: "alice" });
    expect(steps).toEqual([]);
    calls.up("kz-1", up({ type: "state", callId: "call-0001", state: "ended" }));
    expect(calls.inCall("alert-1")).toBeUndefined();
  });

  it("ignores malformed messages and calls it never heard ring", () => {
    const calls = new KioskCalls(() => undefined);
    calls.up("kz-1", Buffer.from("{not json"));
    calls.up("kz-1", up({ type: "state", callId: "call-0009", state: "connected" }));
    expect(calls.inCall("alert-1")).toBeUndefined();
  });
});

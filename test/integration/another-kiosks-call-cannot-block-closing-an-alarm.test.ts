/**
 * Call hijack (issue 11, item 3): the in-call close guard (409 CALL_IN_PROGRESS) counts only calls
 * whose alarm belongs to the calling kiosk. Kiosk A claiming a live call on kiosk B's alarm — rung
 * and connected, or repeated as "connected" with B's alarm id as after a link comes back — must not
 * stop an operator from closing B's alarm; a real call on B's alarm still does.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startCallRig } from "./call-rig.js";
import { waitFor } from "./harness.js";
import { httpBase, login, OPERATOR_PASSWORD } from "./operator-harness.js";

const A = "kz-block-a";
const B = "kz-block-b";
const AT = new Date().toISOString();

describe("another kiosk's call cannot block closing an alarm", () => {
  const defer = deferCleanups();

  it("A's call claims on B's alarm leave B's alarm closable; B's own live call on it is still guarded", async () => {
    const { gateway, kiosks, operator } = await startCallRig(defer, [A, B]);
    const [a, b] = kiosks;
    if (a === undefined || b === undefined) throw new Error("two kiosks expected");
    const page = await operator("op7");
    await operator("bob");
    const bob = await login(gateway.httpPort, "bob", OPERATOR_PASSWORD);
    const close = (alertId: string): Promise<Response> =>
      fetch(`${httpBase(gateway.httpPort)}/api/alarms/${alertId}/close`, { method: "POST", headers: { "content-type": "application/json", cookie: bob.cookie ?? "" }, body: JSON.stringify({ outcome: "help-sent" }) });

    // A rings on B's alarm, "takes" an accept and says it is connected; then repeats connected naming B's alarm.
    const bAlarm = await b.raise();
    await a.callUp({ type: "ring", callId: "call-hijack-0001", alertId: bAlarm, at: AT });
    await a.callUp({ type: "state", callId: "call-hijack-0001", state: "connecting", operator: "op7", pageId: "page-0000000001" });
    await a.callUp({ type: "state", callId: "call-hijack-0001", state: "connected" });
    await a.callUp({ type: "state", callId: "call-hijack-0002", state: "connected", operator: "op7", alertId: bAlarm });
    // Messages are handled in order on A's connection: one more round trip, and all of the above were seen.
    await a.callUp({ type: "hangup", callId: "call-other-0001", reason: "nothing" });
    const closed = await close(bAlarm);
    expect(closed.status).toBe(200);
    expect((await gateway.store.getAlert(bAlarm))?.closedBy).toBe("bob");

    // B's own call on its new alarm, answered by op7: bob's close is refused, naming op7.
    const bAlarm2 = await b.raise();
    await b.callUp({ type: "ring", callId: "call-b-0001", alertId: bAlarm2, at: AT });
    await waitFor(() => page.received.some((m) => m.body.callId === "call-b-0001"), "B's ring at op7's page");
    await page.callDown(B, { type: "accept", callId: "call-b-0001", operator: "op7", pageId: "page-0000000007" });
    await waitFor(() => b.down.length > 0, "the accept at B");
    await b.callUp({ type: "state", callId: "call-b-0001", state: "connecting", operator: "op7", pageId: "page-0000000007" });
    await b.callUp({ type: "state", callId: "call-b-0001", state: "connected" });
    const steps = await waitFor(async () => {
      const all = await gateway.store.alarms.steps(bAlarm2);
      return all.some((s) => s.type === "call-connected") && all;
    }, "the call step on B's alarm");
    expect(steps.find((s) => s.type === "call-connected")?.actor).toBe("op7");
    const refused = await close(bAlarm2);
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("CALL_IN_PROGRESS");
    expect(error.message).toMatch(/^op7 is in a call with this kiosk/);
  });
});

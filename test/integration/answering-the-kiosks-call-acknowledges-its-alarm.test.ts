/**
 * An operator who answers a kiosk's call without pressing Acknowledge has taken the alarm: the
 * kiosk's `connected` acknowledges it by the operator whose accept the kiosk took (the call step's
 * operator), so its escalation stops and every page is told who took it. It stayed unacknowledged:
 * the alarm tone played through the call and escalations went out while the operator talked to the
 * caller (audit 02). An alarm someone already acknowledged keeps its first acknowledgement (the
 * store's rule, test/unit/alarm-lifecycle-and-escalation.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { AlarmView } from "../../gateway/alarms/views.js";
import { startCallRig } from "./call-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";
import { get, login, OPERATOR_PASSWORD, openEventStream } from "./operator-harness.js";

const K = "kz-ans-0001";
const AT = new Date().toISOString();
const ESCALATION = { escalateAfterMs: 500, escalationRepeatMs: 500 };

describe("answering a kiosk's call", () => {
  const defer = deferCleanups();

  it("acknowledges its alarm by the operator who answered: the escalation stops and the pages show who took it", async () => {
    const { gateway, kiosks, operator } = await startCallRig(defer, [K], { alarms: ESCALATION });
    const [kiosk] = kiosks;
    if (kiosk === undefined) throw new Error("a kiosk expected");
    const op7 = await operator("op7");
    const { cookie } = await login(gateway.httpPort, "op7", OPERATOR_PASSWORD);
    if (cookie === undefined) throw new Error("a session expected");
    const stream = openEventStream(gateway.httpPort, cookie, defer);

    const alertId = await kiosk.raise();
    const escalations = async () => (await gateway.store.alarms.steps(alertId)).filter((s) => s.type === "escalated").length;
    // Nobody acknowledges: it escalates.
    await waitFor(async () => (await escalations()) >= 1, "the alarm escalated", 5_000);

    await kiosk.callUp({ type: "ring", callId: "call-ans-0001", alertId, at: AT });
    await waitFor(() => op7.received.length > 0, "the ring at the page");
    await op7.callDown(K, { type: "accept", callId: "call-ans-0001", operator: "op7", pageId: "page-op7-00000001" });
    await waitFor(() => kiosk.down.length === 1, "the accept at the kiosk");
    await kiosk.callUp({ type: "state", callId: "call-ans-0001", state: "connecting", operator: "op7", pageId: "page-op7-00000001" });
    await kiosk.callUp({ type: "state", callId: "call-ans-0001", state: "connected" });

    const ack = await waitFor(async () => (await gateway.store.alarms.steps(alertId)).find((s) => s.type === "acknowledged"), "the alarm acknowledged", 5_000);
    expect(ack.actor).toBe("op7");
    const steps = (await gateway.store.alarms.steps(alertId)).map((s) => s.type);
    expect(steps.indexOf("acknowledged")).toBeLessThan(steps.indexOf("call-connected"));

    // The escalation stops: four repeat periods pass without another one.
    const escalated = await escalations();
    await new Promise((r) => setTimeout(r, 4 * ESCALATION.escalationRepeatMs));
    expect(await escalations()).toBe(escalated);

    // Every page is told (the event stream), and a reloaded page reads it (the queue).
    await waitFor(() => stream.events<AlarmView>("alarm").some((a) => a.alertId === alertId && a.acknowledgedBy === "op7"), "the acknowledgement on the event stream");
    const queue = (await (await get(gateway.httpPort, "/api/alarm-queue", cookie)).json()) as { data: { alarms: AlarmView[] } };
    expect(queue.data.alarms.find((a) => a.alertId === alertId)).toMatchObject({ acknowledgedBy: "op7", status: "call-connected" });
  });
});

/**
 * Call hijack (issue 11, item 3): the audit trail's "call connected by" (the alarm's call-connected
 * step) names the operator whose authenticated page sent the accept the kiosk took — not the name in
 * the kiosk's `state` message, nor the name a page writes into its accept.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startCallRig } from "./call-rig.js";
import { waitFor } from "./harness.js";

const K = "kz-audit-0001";
const AT = new Date().toISOString();

describe("the call step's operator", () => {
  const defer = deferCleanups();

  it("is the authenticated operator whose accept the kiosk took, whatever the kiosk or the page's message says", async () => {
    const { gateway, kiosks, operator } = await startCallRig(defer, [K]);
    const [kiosk] = kiosks;
    if (kiosk === undefined) throw new Error("a kiosk expected");
    const op7 = await operator("op7");
    const bob = await operator("bob");
    const alertId = await kiosk.raise();
    await kiosk.callUp({ type: "ring", callId: "call-audit-0001", alertId, at: AT });
    await waitFor(() => op7.received.length > 0 && bob.received.length > 0, "the ring at both pages");

    // Both press Accept; op7's page writes another name into its accept.
    await op7.callDown(K, { type: "accept", callId: "call-audit-0001", operator: "the-supervisor", pageId: "page-op7-00000001" });
    await bob.callDown(K, { type: "accept", callId: "call-audit-0001", operator: "bob", pageId: "page-bob-00000001" });
    await waitFor(() => kiosk.down.length === 2, "both accepts at the kiosk");
    // The kiosk takes op7's accept (its page id) but names someone else.
    await kiosk.callUp({ type: "state", callId: "call-audit-0001", state: "connecting", operator: "mallory", pageId: "page-op7-00000001" });
    await kiosk.callUp({ type: "state", callId: "call-audit-0001", state: "connected" });

    const step = await waitFor(async () => (await gateway.store.alarms.steps(alertId)).find((s) => s.type === "call-connected"), "the call step");
    expect(step.actor).toBe("op7");
    expect(JSON.stringify(await gateway.store.alarms.steps(alertId))).not.toContain("mallory");
  });
});

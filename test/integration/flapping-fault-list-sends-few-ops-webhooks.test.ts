/**
 * A kiosk whose fault list flaps at every heartbeat (1 s apart, 300 heartbeats pushed in ~10 s) makes a
 * few ops webhooks, not one per heartbeat: online↔degraded changes settle (supervision.settleMs).
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";
import { startSupervisedKiosk } from "./supervision-harness.js";

describe("a flapping fault list", () => {
  const defer = deferCleanups();

  it("300 heartbeats alternating a fault and none make at most 3 ops webhooks", async () => {
    const { ops, gateway, kiosk } = await startSupervisedKiosk(defer, "kz-flap-0001");
    await waitFor(() => ops.requests.length >= 1, "the online event");
    for (let i = 0; i < 300; i += 1) {
      await kiosk.beat({ intervalS: 1, faults: i % 2 === 0 ? ["button-stuck"] : [] });
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitFor(() => gateway.supervision.supervisor.get("kz-flap-0001")?.state === "degraded", "the first change (at once)");
    await waitFor(() => ops.requests.length >= 2, "its webhook");
    await new Promise((r) => setTimeout(r, 1_000));
    // online (connect), degraded (the first change), perhaps one more at a window's end.
    expect(ops.requests.length).toBeLessThanOrEqual(3);
  });
});

/**
 * A kiosk whose fault list flaps at every heartbeat (1 s apart, 300 heartbeats pushed in ~10 s) makes a
 * few ops webhooks, not one per heartbeat: online↔degraded changes settle (supervision.settleMs).
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { tempDir, waitFor } from "./harness.js";
import { RawKiosk, startOpsReceiver, startSupervisedGateway } from "./supervision-harness.js";

describe("a flapping fault list", () => {
  const defer = deferCleanups();

  it("300 heartbeats alternating a fault and none make at most 3 ops webhooks", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const ops = await startOpsReceiver();
    defer(() => ops.stop());
    const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops);
    defer(() => gateway.stop());
    const kiosk = await RawKiosk.connect(gateway, "kz-flap-0001", dir.path);
    defer(() => kiosk.end());
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

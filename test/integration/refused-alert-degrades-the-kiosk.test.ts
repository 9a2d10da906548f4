import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { Outbox } from "../../device/link/outbox.js";
import type { Alert } from "../../shared/contract.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";

describe("an alert the gateway refuses", () => {
  const defer = deferCleanups();

  it("stays in the kiosk's outbox and makes the kiosk degraded (alerts-refused) at the gateway, instead of being retried unseen", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, "kz-new-0002", gateway.mqttUrl, dir.path);
    const config = parseKioskConfig({ ...provisioned, health: { ...provisioned.health, heartbeatIntervalS: 1 } });
    // The data folder of the kiosk this box was before it was re-provisioned: an alert under the old id.
    const alertId = randomUUID();
    const old: Alert = { v: 1, alertId, kioskId: "kz-old-0001", kind: "sos", pressedAt: new Date(Date.now() - 3_600_000).toISOString(), location: config.location };
    const outbox = new Outbox(config.dataDir, new LogCapture().logger("seed"));
    outbox.open();
    expect(outbox.append(old)).toBe(true);

    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    const health = await waitFor(async () => {
      const row = await gateway.store.health.getHealth("kz-new-0002");
      return row?.state === "degraded" ? row : undefined;
    }, "the kiosk degraded at the gateway");
    expect(health.components).toContain("alerts-refused");
    expect(kiosk.outbox.pending().map((a) => a.alertId)).toEqual([alertId]);
    expect(kiosk.logs.find("gateway refused the alert: kept in the outbox and retried; report this to the gateway team").length).toBeGreaterThan(0);
    // Its own alerts still go through, and the fault stays while the refused one waits.
    kiosk.button.press(new Date());
    await waitFor(() => kiosk.logs.find("alert acknowledged by gateway").length > 0, "a new alert acknowledged");
    expect(kiosk.faults.all).toContain("alerts-refused");
    // Kept and retried, but no longer urgent: reconnecting sooner, or staying on a node for it, changes nothing.
    await waitFor(() => kiosk.outbox.depth === 1, "the kiosk's own alert out of the outbox");
    expect(kiosk.outbox.holds("sos")).toBe(false);
  });
});

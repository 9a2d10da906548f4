import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { FakeModem } from "../fixtures/fake-modem.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

const KIOSK = "kz-hwy-0900";

describe("the second path's health reaches supervision", () => {
  const defer = deferCleanups();

  it("a kiosk whose modem is gone is degraded (backup-path) with its modem's health in the heartbeat, and online again once the modem is back", async () => {
    const { gateway, dir } = await startSystem(defer, { supervision: { settleMs: 0 } });
    const provisioned = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir);
    const config = parseKioskConfig({
      ...provisioned,
      fallback: { smsKey: randomBytes(32).toString("base64url"), smsNumbers: ["+77010000100"], healthEveryS: 1, smsTest: { enabled: false } },
      health: { ...provisioned.health, heartbeatIntervalS: 1, selfTest: { ...provisioned.health.selfTest, enabled: false } },
    });
    const modem = new FakeModem();
    modem.present = false;
    const kiosk = await startTestKiosk(config, { modem });
    defer(() => kiosk.stop());
    await kiosk.fallbackReady;

    const degraded = await waitFor(() => {
      const s = gateway.supervision.supervisor.get(KIOSK);
      return s?.state === "degraded" ? s : undefined;
    }, "the kiosk degraded");
    expect(degraded.components).toContain("backup-path");
    // The heartbeats are written in batches: the stored one carries the modem's health.
    const beat = await waitFor(async () => {
      const row = (await gateway.store.health.listHealth({ reports: true })).find((r) => r.kioskId === KIOSK);
      const report = row?.report == null ? undefined : (JSON.parse(row.report) as { backupPath?: Record<string, unknown> });
      return report?.backupPath;
    }, "a stored heartbeat with the backup path");
    expect(beat).toMatchObject({ present: false, smsPerHour: 10 });

    modem.present = true;
    await waitFor(() => gateway.supervision.supervisor.get(KIOSK)?.state === "online", "the kiosk online again");
  });
});

/**
 * An open alarm the gateway refuses (here its alertId already belongs to another kiosk's alert: the
 * gateway answers "generate a new alertId") takes no more presses: the next press raises a new alarm
 * with a new alertId, which the gateway stores and acknowledges. A real gateway, a real kiosk agent;
 * the kiosk's data folder is seeded with the agent's own outbox and state file.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { OpenAlarmFile } from "../../device/alarm/open-alarm.js";
import { Outbox } from "../../device/link/outbox.js";
import type { Alert } from "../../shared/contract.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";

describe("a press after the gateway refused the open alarm", () => {
  const defer = deferCleanups();

  it("raises a new alarm that the gateway takes, instead of counting on the refused one", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    const config = await provisionTestKiosk(gateway.dataDir, "kz-hwy-0003", gateway.mqttUrl, dir.path);
    await provisionTestKiosk(gateway.dataDir, "kz-hwy-0004", gateway.mqttUrl, dir.path);
    // The alertId is already another kiosk's at the gateway.
    const alertId = randomUUID();
    const pressedAt = new Date(Date.now() - 60_000).toISOString();
    const theirs: Alert = { v: 1, alertId, kioskId: "kz-hwy-0004", kind: "sos", pressedAt, location: config.location };
    expect((await gateway.store.recordAlert(theirs, new Date(), "{}")).outcome).toBe("stored");
    const ours: Alert = { ...theirs, kioskId: config.kioskId, trigger: "button", pressCount: 1 };
    // Left as the kiosk leaves them: the alert in its outbox, and its open-alarm state.
    const log = new LogCapture().logger("seed");
    const outbox = new Outbox(config.dataDir, log);
    outbox.open();
    expect(outbox.append(ours)).toBe(true);
    new OpenAlarmFile(config.dataDir, log).save({ alert: ours, openedAt: pressedAt, received: false });

    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    expect(kiosk.alarm.openAlarm?.alert.alertId).toBe(alertId);
    await waitFor(() => kiosk.logs.find("gateway refused the alert: kept in the outbox and retried; report this to the gateway team").length > 0, "the open alarm refused");

    kiosk.button.press(new Date());
    const acked = await waitFor(() => kiosk.logs.find("alert acknowledged by gateway")[0], "the new alarm acknowledged");
    expect(acked.alertId).not.toBe(alertId);
    expect(kiosk.alarm.openAlarm?.alert).toMatchObject({ alertId: acked.alertId, kioskId: config.kioskId, pressCount: 1 });
    expect((await gateway.store.getAlert(String(acked.alertId)))?.kioskId).toBe(config.kioskId);
    expect(kiosk.outbox.pending().map((a) => a.alertId)).toEqual([alertId]);
  });
});

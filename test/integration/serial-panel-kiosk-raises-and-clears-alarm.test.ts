/**
 * The kiosk as deployed with a serial button panel, built by the real composition root and driver
 * factory: the only fake is the serial port itself (@serialport/binding-mock).
 */
import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "./cleanups.js";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import type { Alert } from "../../shared/contract.js";

import { FakeSerialPanel } from "../fixtures/fake-serial-panel.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { provisionTestKiosk, waitFor } from "./harness.js";

describe("a kiosk with a serial button panel", () => {
  const defer = deferCleanups();

  it("raises an alarm from the panel's button, lights yellow, records the tamper state, and goes dark when the centre closes it", async () => {
    const { dir, receiver, gateway } = await startSystem(defer);
    const provisioned = await provisionTestKiosk(gateway.dataDir, "kz-rest-0007", gateway.mqttUrl, dir);
    const path = "/dev/serial/by-id/usb-SOS_Panel_0007-if00";
    const config = parseKioskConfig({
      ...provisioned,
      button: { driver: "serial", path },
      indicator: { driver: "serial" },
      audio: { player: "none" },
    });
    const panel = new FakeSerialPanel(path);
    const logs = new LogCapture();
    const kiosk: KioskHandle = await startKiosk(config, { log: logs.logger("kiosk"), serialBinding: panel.binding });
    defer(() => kiosk.stop());
    await kiosk.linkReady;
    await waitFor(() => logs.find("connected to gateway").length > 0 && panel.current, "kiosk connected and panel open");
    expect(panel.mode("yellow")).toBe("off");

    const recorded: Alert[] = [];
    kiosk.events.on("alert.recorded", "test", ({ alert }) => recorded.push(alert));
    panel.send("TAMPER OPEN\n");
    panel.send("BTN DOWN\n");
    await new Promise((r) => setTimeout(r, 120));
    panel.send("BTN UP\n");

    const request = await waitFor(() => receiver.requests[0], "dispatch request");
    expect(request.body).toMatchObject({ kioskId: "kz-rest-0007", kind: "sos" });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.kioskState).toMatchObject({ tamper: "open" });
    await waitFor(() => panel.mode("yellow") === "on", "yellow LED on");
    expect(panel.lines()).toContain("LED YELLOW ON");

    expect(await gateway.closeAlarm({ alertId: request.body.alertId, outcome: "help sent", closedBy: "test" })).toBe("closed");
    await waitFor(() => panel.mode("yellow") === "off", "yellow LED off after the close");
    expect(kiosk.alarm.openAlarm).toBeNull();
  });
});

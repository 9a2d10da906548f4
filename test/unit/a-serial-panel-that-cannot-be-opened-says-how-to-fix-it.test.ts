/**
 * A serial panel that cannot be opened is said in one line with its fix: not there (unplugged, or
 * button.path wrong), no permission (the dialout group, deploy/'s udev rule), not a serial device
 * (/dev/null: "Inappropriate ioctl … setting custom baud rate"). The real native binding for the
 * paths this machine has; for permission (the tests may run as root) a binding that fails the open
 * in bindings-cpp's own words.
 */
import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { SerialPanel, type SerialBinding } from "../../device/inputs/serial-panel.js";
import { MockBinding } from "../fixtures/fake-serial-panel.js";
import { LogCapture } from "../fixtures/log-capture.js";

const panels: SerialPanel[] = [];
afterEach(async () => {
  for (const p of panels.splice(0)) await p.stop();
});

async function openFails(path: string, binding: SerialBinding): Promise<{ warned: string[]; errors: string[] }> {
  const logs = new LogCapture();
  const panel = new SerialPanel({ path, baudRate: 115_200, binding, log: logs.logger("panel"), pingIntervalMs: 0 });
  panels.push(panel);
  const errors: string[] = [];
  panel.on("error", (err) => errors.push(err.message));
  await panel.start();
  return { warned: logs.lines.filter((l) => l.level === "warn").map((l) => l.msg), errors };
}

describe("a serial panel that cannot be opened says how to fix it", () => {
  it("not there: the panel is not plugged in or button.path is wrong", async () => {
    const said = `serial panel /dev/ttyUSB-sos-absent not found: the panel is not plugged in, or button.path in kiosk.json is wrong (ls /dev/serial/by-id/ lists the serial devices plugged in)`;
    expect(await openFails("/dev/ttyUSB-sos-absent", SerialPort.binding)).toEqual({ warned: [said], errors: [said] });
  });

  it("not a serial device (/dev/null): says so and which setting to change", async () => {
    const said = "/dev/null is not a serial device: set button.path in kiosk.json to the panel's /dev/serial/by-id/… path";
    expect(await openFails("/dev/null", SerialPort.binding)).toEqual({ warned: [said], errors: [said] });
  });

  it("permission denied: add the kiosk's user to the dialout group", async () => {
    const denied: SerialBinding = { ...MockBinding, open: (options) => Promise.reject(new Error(`Error: Permission denied, cannot open ${options.path}`)) };
    const said =
      "no permission to open serial panel /dev/ttyUSB0: add the kiosk's user to the dialout group (sudo usermod -aG dialout USER; deploy/udev/90-sos-kiosk.rules gives USB serial devices to dialout) and restart the agent";
    expect(await openFails("/dev/ttyUSB0", denied)).toEqual({ warned: [said], errors: [said] });
  });
});

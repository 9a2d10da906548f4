/**
 * A misbehaving panel cannot flood the log: a POWER line flapping thousands of times logs the first
 * few changes of each minute and then one summary with the count and the last state, where each
 * change logged two lines (79 637 lines in 10 s: journald's rate limit would then drop the alarm's
 * own lines). The state the alert and the heartbeat carry is still the last one. The real agent and
 * serial driver; the panel behind a mock serial binding.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { FakeSerialPanel } from "../fixtures/fake-serial-panel.js";
import { offlineKioskConfig } from "../fixtures/offline-kiosk-config.js";
import { RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture, type LogLine } from "../fixtures/log-capture.js";
import { tempDir, waitFor } from "./harness.js";

const FLAPS = 4_000;

describe("a flapping panel line cannot flood the log", () => {
  const dir = tempDir("sos-flap-");
  let kiosk: KioskHandle | undefined;
  afterAll(async () => {
    await kiosk?.stop();
    dir.remove();
  });

  it(`${FLAPS} POWER changes: the first 5 logged as they come, the rest in one summary line with the count and the last state`, async () => {
    const panel = new FakeSerialPanel("/dev/serial/by-id/usb-SOS_Kiosk_Panel_flap-if00");
    const logs = new LogCapture();
    const config = offlineKioskConfig("kz-flap-0001", join(dir.path, "data"), { button: { driver: "serial", path: panel.path } });
    kiosk = await startKiosk(config, { log: logs.logger("kiosk"), serialBinding: panel.binding, player: new RecordingPlayer() });
    await waitFor(() => logs.find("serial panel connected")[0], "the panel connected");

    let text = "";
    for (let i = 0; i < FLAPS; i += 1) text += i % 2 === 0 ? "POWER BATTERY 80\n" : "POWER MAINS\n";
    panel.send(`${text}TAMPER OPEN\n`); // the tamper line last: once it is logged, every POWER line was read
    await waitFor(() => logs.find("tamper switch changed")[0], "the whole flood read");
    const powerLines = (): LogLine[] => logs.lines.filter((l) => /power/i.test(l.msg));
    expect(powerLines().map((l) => [l.level, l.msg, l.power])).toEqual([
      ["info", "power supply changed", "battery"],
      ["info", "power supply changed", "mains"],
      ["info", "power supply changed", "battery"],
      ["info", "power supply changed", "mains"],
      ["info", "power supply changed", "battery"],
    ]);

    // The summary comes at the minute's end, or when the agent stops.
    await kiosk.stop();
    kiosk = undefined;
    expect(powerLines().slice(5)).toEqual([
      expect.objectContaining({ level: "info", msg: "power supply changed: 3995 more changes not logged one by one (the last is shown)", power: "mains", suppressed: FLAPS - 5 }),
    ]);
  });
});

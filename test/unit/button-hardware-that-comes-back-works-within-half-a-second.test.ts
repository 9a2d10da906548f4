/**
 * The button is the one part that must come back at once: when its hardware returns after an outage
 * of several seconds (a serial panel replugged, a GPIO chip that gpiomon could not open appearing),
 * the driver, on its default retry, has it working again within about half a second, where a growing
 * backoff left it dead for up to 36 s (serial) or a minute (gpiod) and lost the presses meanwhile.
 * Only the first failure of the outage is logged as a warning or error, and the recovery once.
 * Fakes only at the hardware edge: a mock serial binding, a gpiomon stand-in.
 */
import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { GpiodButton } from "../../device/inputs/gpiod.js";
import { SerialPanel } from "../../device/inputs/serial-panel.js";
import { systemClock } from "../../shared/clock.js";
import { FakeSerialPanel } from "../fixtures/fake-serial-panel.js";
import { LogCapture, type LogLine } from "../fixtures/log-capture.js";

const BIN = fileURLToPath(new URL("../fixtures/bin/", import.meta.url));
const OUTAGE_MS = 4_000;
/** BUTTON_RETRY's cap, and a margin for opening the device. */
const BACK_WITHIN_MS = 800;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const loud = (logs: LogCapture): LogLine[] => logs.lines.filter((l) => l.level === "warn" || l.level === "error");

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe("button hardware that comes back works within half a second", () => {
  it("a serial panel unplugged for 4 s is reopened within 800 ms of being plugged back; the outage is one warning", { timeout: 15_000 }, async () => {
    const fake = new FakeSerialPanel("/dev/serial/by-id/usb-SOS_Kiosk_Panel_retry-if00");
    const logs = new LogCapture();
    const panel = new SerialPanel({ path: fake.path, baudRate: 115_200, binding: fake.binding, log: logs.logger("panel", "debug") });
    stops.push(() => panel.stop());
    const presses: Date[] = [];
    panel.on("press", (e) => presses.push(e.at));
    panel.on("error", () => undefined);
    await panel.start();
    await until(() => panel.isConnected, "connected");

    fake.unplug();
    await until(() => !panel.isConnected, "unplug noticed");
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const pluggedAt = Date.now();
    fake.plugIn();
    await until(() => panel.isConnected, "reconnected", 5_000);
    expect(Date.now() - pluggedAt).toBeLessThan(BACK_WITHIN_MS);
    fake.send("BTN DOWN\n");
    await until(() => presses.length === 1, "a press after the replug");

    expect(loud(logs).map((l) => l.msg)).toEqual(["serial panel lost"]);
    expect(logs.find("serial panel connected")).toHaveLength(2);
  });

  it("gpiomon failing for 4 s (no chip) is running again within 800 ms of the chip appearing; the outage is logged once, the recovery once", { timeout: 15_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "sos-gpiod-retry-"));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    await symlink(join(BIN, "fake-gpiomon.js"), join(dir, "gpiomon"));
    await writeFile(join(dir, "gpiomon.fail"), "error opening gpiochip0: No such file or directory");
    const logs = new LogCapture();
    const button = new GpiodButton({ chip: "gpiochip0", line: 17, activeLow: true, bias: "pull-up", gpiomon: join(dir, "gpiomon"), gpiodetect: join(dir, "gpiodetect") }, { clock: systemClock, log: logs.logger("gpiod", "debug") });
    stops.push(() => button.stop());
    button.on("error", () => undefined);
    await button.start();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));

    await unlink(join(dir, "gpiomon.fail"));
    const chipAt = Date.now();
    const ready = async (): Promise<boolean> => {
      const pid = button.gpiomonPid;
      const started = await readFile(join(dir, "gpiomon.ready"), "utf8").catch(() => "");
      return pid !== undefined && started.split("\n").includes(String(pid));
    };
    await until(ready, "gpiomon watching the line", 5_000);
    expect(Date.now() - chipAt).toBeLessThan(BACK_WITHIN_MS);
    await until(() => logs.find("gpiod button working again: gpiomon is watching the line").length === 1, "the recovery logged");

    const attempts = logs.find("child process ended: restarting").length;
    expect(attempts).toBeGreaterThanOrEqual(6); // tried every few hundred ms
    expect(loud(logs).map((l) => l.msg)).toEqual(["gpiomon error output", "child process ended: restarting"]);
  });
});

/**
 * The button works first, whatever the lights do: a `gpio` indicator on a Pi where onoff's native
 * addon (epoll.node) is not built, or an indicator whose start fails, runs as no indicator. The
 * button is armed before the lights are even made, a press is recorded on disk, the heartbeat's
 * fault list says `indicator:not-working`, and one error line names the driver and the fix.
 * The real agent; fakes only at the hardware edge (the button, onoff's loader, a failing driver).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import type { Indicator } from "../../device/indicators/indicator.js";
import type { KioskConfigInput } from "../../shared/config/kiosk.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { offlineKioskConfig } from "../fixtures/offline-kiosk-config.js";
import { tempDir, waitFor } from "./harness.js";

/** onoff as on a Pi where `npm ci` could not build its addon; records whether the button was armed by then. */
const onoff = vi.hoisted(() => ({ calls: 0, buttonArmedAtLoad: [] as boolean[], button: undefined as { started: boolean } | undefined }));
vi.mock("../../device/gpio/onoff.js", () => ({
  loadOnoffGpio: () => {
    onoff.calls += 1;
    onoff.buttonArmedAtLoad.push(onoff.button?.started === true);
    return Promise.reject(new Error("Cannot find module '../build/Release/epoll.node'"));
  },
}));

/** A lights driver whose start fails (behind the Indicator port, as a broken driver would). */
class FailingIndicator extends RecordingIndicator {
  override readonly driver = "recording";
  override start(): Promise<void> {
    return Promise.reject(Object.assign(new Error("EACCES: permission denied, open '/sys/class/gpio/export'"), { code: "EACCES" }));
  }
}

describe("lights that cannot load or start leave the button working", () => {
  const dir = tempDir("sos-lights-fail-");
  let kiosk: KioskHandle | undefined;
  afterEach(async () => {
    await kiosk?.stop();
    kiosk = undefined;
  });

  async function start(name: string, indicator: Record<string, unknown>, given?: Indicator): Promise<{ button: FakeButton; logs: LogCapture; dataDir: string }> {
    const dataDir = join(dir.path, name);
    const config = offlineKioskConfig("kz-lights-0001", dataDir, { indicator } as Partial<KioskConfigInput>);
    const button = new FakeButton();
    onoff.button = button;
    const logs = new LogCapture();
    kiosk = await startKiosk(config, { log: logs.logger("kiosk"), button, player: new RecordingPlayer(), ...(given === undefined ? {} : { indicator: given }) });
    return { button, logs, dataDir };
  }

  const indicatorErrors = (logs: LogCapture): string[] => logs.lines.filter((l) => l.level === "error" && l.subsystem === "indicator").map((l) => l.msg);

  it("a gpio indicator whose onoff cannot load: the button is armed first, a press is on disk, indicator:not-working is reported, one error line names the fix", async () => {
    const { button, logs, dataDir } = await start("noepoll", { driver: "gpio", yellowLine: 22, greenLine: 27 });
    // The lights come up on their own, after the button (the agent does not wait for them).
    await waitFor(() => kiosk?.faults.all.includes("indicator:not-working"), "the lights' fault");
    expect(onoff.calls).toBe(1);
    expect(onoff.buttonArmedAtLoad).toEqual([true]);
    button.press();
    const recorded = await waitFor(() => logs.find("alert recorded")[0], "the press recorded");
    expect(existsSync(join(dataDir, "outbox", `${String(recorded.alertId)}.alert.json`))).toBe(true);
    expect(kiosk?.faults.all).toContain("indicator:not-working");
    expect(kiosk?.faults.current).toEqual([]); // the kiosk still raises alarms: no blinking "out of order"
    expect(indicatorErrors(logs)).toEqual([
      `indicator driver "gpio" cannot load onoff (Cannot find module '../build/Release/epoll.node'); reinstall the agent's dependencies (npm ci) or use the "gpiod" driver; the kiosk runs without its lights (the button works)`,
    ]);
    // It runs as no indicator: the lights' state is logged instead.
    await waitFor(() => logs.find("indicator", (l) => l.yellow === "on")[0], "the alarm's lights logged");
  });

  it("an indicator whose start fails: a press is on disk, indicator:not-working is reported, one error line says why", async () => {
    const { button, logs } = await start("failing", { driver: "none" }, new FailingIndicator());
    expect(button.started).toBe(true);
    button.press();
    await waitFor(() => logs.find("alert recorded")[0], "the press recorded");
    expect(kiosk?.faults.all).toContain("indicator:not-working");
    expect(indicatorErrors(logs)).toEqual([
      `indicator driver "recording" failed to start: EACCES: permission denied, open '/sys/class/gpio/export'; the kiosk runs without its lights (the button works)`,
    ]);
  });

  it("working lights report no fault", async () => {
    const lights = new RecordingIndicator();
    const { logs } = await start("working", { driver: "none" }, lights);
    await waitFor(() => lights.current, "the lights set");
    expect(lights.current).toEqual({ yellow: "off", green: "off" });
    expect(kiosk?.faults.all).not.toContain("indicator:not-working");
    expect(indicatorErrors(logs)).toEqual([]);
  });
});

/**
 * A black picture in the scheduled night run is no verdict (an unlit site is dark at 03:30): the
 * camera is checked again alone at health.selfTest.daylightAt, where black fails. Fake checks behind
 * SelfCheck (the hardware edge), fake timers, the real state file in a temp dir.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { CAMERA_BLACK } from "../../device/health/checks/camera.js";
import { type CheckOutcome, pause, type SelfCheck } from "../../device/health/checks/check.js";
import { FaultMonitor } from "../../device/health/faults.js";
import { DAYLIGHT_RECHECK_AT } from "../../device/health/recheck.js";
import { SelfTests } from "../../device/health/self-tests.js";
import { systemClock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import type { SelfTestName } from "../../shared/health.js";
import { LogCapture } from "../fixtures/log-capture.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 01:00 local time, whatever the machine's time zone: the night run at 03:30, the daylight re-check at 12:30. */
const T0 = new Date(2025, 0, 2, 1, 0, 0, 0).getTime();
const NIGHT = 2.5 * HOUR;
const NOON = 11.5 * HOUR;

const BLACK: CheckOutcome = { result: "fail", detail: "black picture (mean luma 3.2 ≤ 24)", measurements: { meanLuma: 3.2, frameDiff: 0.4, [CAMERA_BLACK]: 1 } };
const FROZEN: CheckOutcome = { result: "fail", detail: "frozen picture", measurements: { meanLuma: 90, frameDiff: 0 } };
const LIVE: CheckOutcome = { result: "pass", detail: "live picture", measurements: { meanLuma: 110, frameDiff: 6 } };

class ScriptedCheck implements SelfCheck {
  outcome: CheckOutcome = { result: "pass", detail: "fine" };
  takesMs = 1_000;
  runs: number[] = [];
  constructor(readonly name: SelfTestName) {}
  async run(signal: AbortSignal): Promise<CheckOutcome> {
    this.runs.push(Date.now() - T0);
    await pause(this.takesMs, signal);
    return signal.aborted ? { result: "fail", detail: "aborted" } : this.outcome;
  }
}

describe("the camera's daylight re-check", () => {
  let dataDir: string;
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let faults: FaultMonitor;
  let busy: string | null;
  let button: ScriptedCheck;
  let camera: ScriptedCheck;
  let audio: ScriptedCheck;
  let made: SelfTests[];
  let monitors: FaultMonitor[];

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dataDir = mkdtempSync(join(tmpdir(), "sos-selftest-daylight-"));
    logs = new LogCapture();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    faults = new FaultMonitor(bus, 120_000);
    monitors = [faults];
    busy = null;
    [button, camera, audio] = [new ScriptedCheck("button"), new ScriptedCheck("camera"), new ScriptedCheck("audio")];
    camera.outcome = BLACK;
    made = [];
  });

  afterEach(() => {
    for (const s of made) s.stop();
    for (const m of monitors) m.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const make = (over: { faults?: FaultMonitor; at?: string } = {}): SelfTests => {
    const s = new SelfTests({ checks: [button, camera, audio], clock: systemClock, log: logs.logger("self-test"), bus, faults: over.faults ?? faults, dataDir, busy: () => busy, at: over.at ?? "03:30", daylightAt: "12:30", retryAfterMs: 10 * MIN });
    made.push(s);
    s.start();
    return s;
  };
  const cameraResult = (s: SelfTests) => s.last.find((r) => r.name === "camera");
  const stored = () => (JSON.parse(readFileSync(join(dataDir, "state", "self-tests.json"), "utf8")) as { results: { name: string; measurements: Record<string, number> }[] }).results.find((r) => r.name === "camera");

  it("a black picture in the scheduled night run is not-applicable with no fault, and the camera alone is checked again at 12:30", async () => {
    const s = make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    expect(cameraResult(s)).toMatchObject({
      result: "not-applicable",
      detail: "picture too dark to judge at 03:30 (mean luma 3.2): the camera is checked again at 12:30",
      measurements: { meanLuma: 3.2, [DAYLIGHT_RECHECK_AT]: T0 + NOON },
    });
    expect(faults.all).toEqual([]);
    expect(s.cameraRecheckAt?.getTime()).toBe(T0 + NOON);
    camera.outcome = LIVE;
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 - 1);
    expect(camera.runs).toEqual([NIGHT + 1_000]);
    await vi.advanceTimersByTimeAsync(1 + 1_000);
    expect([button.runs, camera.runs, audio.runs]).toEqual([[NIGHT], [NIGHT + 1_000, NOON], [NIGHT + 2_000]]);
  });

  it("a black picture at the 12:30 re-check is a failure: selftest:camera degraded, no further re-check", async () => {
    const s = make();
    await vi.advanceTimersByTimeAsync(NOON + 1_000);
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON]);
    expect(cameraResult(s)).toMatchObject({ result: "fail", detail: BLACK.detail });
    expect(cameraResult(s)?.measurements).not.toHaveProperty(DAYLIGHT_RECHECK_AT);
    expect(faults.all).toEqual(["selftest:camera"]);
    expect(faults.current).toEqual([]); // degraded: reported, alarms still go
    expect(s.cameraRecheckAt).toBeUndefined();
    expect(stored()?.measurements).not.toHaveProperty(DAYLIGHT_RECHECK_AT);
    await vi.advanceTimersByTimeAsync(NIGHT + 24 * HOUR - NOON - 1_000 - 1);
    expect(camera.runs).toHaveLength(2);
  });

  it("a camera found black in daylight stays failing through the next night's dark run (no flapping), and is judged again at 12:30", async () => {
    const s = make();
    await vi.advanceTimersByTimeAsync(NOON + 1_000);
    expect(faults.all).toEqual(["selftest:camera"]);
    const cleared = vi.spyOn(faults, "setDegraded");
    await vi.advanceTimersByTimeAsync(24 * HOUR - NOON + NIGHT + 3_000 - 1_000); // the next night's run
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON, 24 * HOUR + NIGHT + 1_000]);
    expect(cameraResult(s)).toMatchObject({ result: "fail", measurements: { [DAYLIGHT_RECHECK_AT]: T0 + 24 * HOUR + NOON } });
    expect(cameraResult(s)?.detail).toMatch(/^black in daylight at 12:30, too dark to judge at 03:30: the camera is checked again at 12:30/);
    expect(faults.all).toEqual(["selftest:camera"]);
    expect(cleared.mock.calls.filter(([fault, on]) => fault === "selftest:camera" && !on)).toEqual([]); // never cleared in between
    camera.outcome = LIVE;
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 + 1_000);
    expect(camera.runs.at(-1)).toBe(24 * HOUR + NOON);
    expect(cameraResult(s)?.result).toBe("pass");
    expect(faults.all).toEqual([]);
  });

  it("a live picture at the 12:30 re-check passes and clears the camera's fault", async () => {
    camera.outcome = FROZEN;
    const s = make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    expect(faults.all).toEqual(["selftest:camera"]); // the night before: frozen
    camera.outcome = BLACK;
    await vi.advanceTimersByTimeAsync(24 * HOUR); // the next night: black, no verdict, the fault goes
    expect(cameraResult(s)?.result).toBe("not-applicable");
    expect(faults.all).toEqual([]);
    camera.outcome = LIVE;
    await vi.advanceTimersByTimeAsync(NOON - NIGHT + 1_000 - 3_000);
    expect(camera.runs.at(-1)).toBe(24 * HOUR + NOON);
    expect(cameraResult(s)).toMatchObject({ result: "pass", detail: "live picture" });
    expect(faults.all).toEqual([]);
    expect(s.cameraRecheckAt).toBeUndefined();
  });

  it("a frozen picture in the night run fails at once: degraded, no daylight re-check", async () => {
    camera.outcome = FROZEN;
    const s = make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    expect(cameraResult(s)).toMatchObject({ result: "fail", detail: "frozen picture" });
    expect(faults.all).toEqual(["selftest:camera"]);
    expect(s.cameraRecheckAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(NOON);
    expect(camera.runs).toEqual([NIGHT + 1_000]);
  });

  it("on demand (a technician on site) a black picture fails at once, with no re-check", async () => {
    const s = make();
    await Promise.all([s.run("on-demand"), vi.advanceTimersByTimeAsync(3_000)]);
    expect(cameraResult(s)).toMatchObject({ result: "fail", detail: BLACK.detail });
    expect(faults.all).toEqual(["selftest:camera"]);
    expect(s.cameraRecheckAt).toBeUndefined();
  });

  it("a daily run set to the daylight time (at = daylightAt) judges black at once", async () => {
    const s = make({ at: "12:30" });
    await vi.advanceTimersByTimeAsync(NOON + 3_000);
    expect(cameraResult(s)?.result).toBe("fail");
    expect(faults.all).toEqual(["selftest:camera"]);
    expect(s.cameraRecheckAt).toBeUndefined();
  });

  it("a restart between the night run and 12:30 still re-checks the camera at 12:30 (the pending re-check is stored)", async () => {
    const s = make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    expect(stored()?.measurements[DAYLIGHT_RECHECK_AT]).toBe(T0 + NOON);
    s.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR); // the agent is down
    const fresh = new FaultMonitor(bus, 120_000);
    monitors.push(fresh);
    const again = make({ faults: fresh });
    expect(cameraResult(again)?.result).toBe("not-applicable");
    expect(again.cameraRecheckAt?.getTime()).toBe(T0 + NOON);
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 - 2 * HOUR + 1_000);
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON]);
    expect(fresh.all).toEqual(["selftest:camera"]);
  });

  it("a stored re-check missed by more than an hour (the agent was down at 12:30) waits for the next 12:30", async () => {
    make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    made.pop()?.stop();
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 + 2 * HOUR); // back at 14:30
    const again = make();
    expect(again.cameraRecheckAt?.getTime()).toBe(T0 + NOON + 24 * HOUR);
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(camera.runs).toEqual([NIGHT + 1_000]);
  });

  it("a stored re-check missed by less than an hour (a restart at 12:30) runs at once", async () => {
    make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    made.pop()?.stop();
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 + 20 * MIN);
    make();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON + 20 * MIN]);
    expect(faults.all).toEqual(["selftest:camera"]);
  });

  it("a busy kiosk at 12:30 (a call) postpones the re-check, tried again every retryAfterMin until free", async () => {
    make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    busy = "call active";
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 + 15 * MIN);
    expect(camera.runs).toEqual([NIGHT + 1_000]);
    expect(logs.find("self-test postponed").map((l) => [l["trigger"], l["reason"]])).toEqual([["camera re-check", "call active"], ["camera re-check", "call active"]]);
    busy = null;
    await vi.advanceTimersByTimeAsync(5 * MIN + 1_000);
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON + 20 * MIN]);
    expect(faults.all).toEqual(["selftest:camera"]);
  });

  it("an alarm raised during the re-check aborts it (no verdict); tried again after retryAfterMin", async () => {
    const s = make();
    await vi.advanceTimersByTimeAsync(NIGHT + 3_000);
    camera.takesMs = 10_000;
    await vi.advanceTimersByTimeAsync(NOON - NIGHT - 3_000 + 500);
    bus.emit("alarm.raised", { alert: { alertId: "a-1" } as never });
    await vi.advanceTimersByTimeAsync(0);
    expect(logs.find("alarm raised during the self-test: self-test aborted, the camera and speaker are the alarm's")).toHaveLength(1);
    expect(cameraResult(s)?.result).toBe("not-applicable");
    expect(faults.all).toEqual([]);
    expect(s.cameraRecheckAt?.getTime()).toBe(T0 + NOON + 500 + 10 * MIN);
    await vi.advanceTimersByTimeAsync(10 * MIN + 10_000);
    expect(camera.runs).toEqual([NIGHT + 1_000, NOON, NOON + 500 + 10 * MIN]);
    expect(cameraResult(s)?.result).toBe("fail");
  });
});

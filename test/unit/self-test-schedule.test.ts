import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alarmHoldsTests } from "../../device/health/start-health.js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { type CheckOutcome, pause, type SelfCheck } from "../../device/health/checks/check.js";
import { FaultMonitor } from "../../device/health/faults.js";
import { nextDailyAt } from "../../device/health/recheck.js";
import { SelfTests } from "../../device/health/self-tests.js";
import { systemClock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import type { SelfTestName } from "../../shared/health.js";
import { LogCapture } from "../fixtures/log-capture.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 01:00 local time, whatever the machine's time zone: the self-test at 03:30 is 2.5 h later. */
const T0 = new Date(2025, 0, 2, 1, 0, 0, 0).getTime();
const FIRST_RUN = 2.5 * HOUR;

/** A check that answers what `outcome` says when it runs, after `takesMs`, and stops on abort. */
class ScriptedCheck implements SelfCheck {
  outcome: CheckOutcome = { result: "pass", detail: "fine" };
  takesMs = 1_000;
  runs: number[] = [];
  throws: Error | undefined;
  constructor(readonly name: SelfTestName) {}
  async run(signal: AbortSignal): Promise<CheckOutcome> {
    this.runs.push(Date.now() - T0);
    await pause(this.takesMs, signal);
    if (this.throws !== undefined) throw this.throws;
    return signal.aborted ? { result: "fail", detail: "aborted" } : this.outcome;
  }
}

describe("SelfTests", () => {
  let dataDir: string;
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let faults: FaultMonitor;
  let changes: (readonly string[])[];
  let busy: string | null;
  let button: ScriptedCheck;
  let camera: ScriptedCheck;
  let audio: ScriptedCheck;
  let made: SelfTests[];

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dataDir = mkdtempSync(join(tmpdir(), "sos-selftest-"));
    logs = new LogCapture();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    faults = new FaultMonitor(bus, 120_000);
    changes = [];
    bus.on("fault.changed", "test", ({ faults: f }) => changes.push(f));
    busy = null;
    [button, camera, audio] = [new ScriptedCheck("button"), new ScriptedCheck("camera"), new ScriptedCheck("audio")];
    made = [];
  });

  afterEach(() => {
    for (const s of made) s.stop();
    faults.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** `sink`: another FaultMonitor (a restarted agent reading the stored results). */
  const make = (sink: FaultMonitor = faults): SelfTests => {
    const s = new SelfTests({ checks: [button, camera, audio], clock: systemClock, log: logs.logger("self-test"), bus, faults: sink, dataDir, busy: () => busy, at: "03:30", daylightAt: "12:30", retryAfterMs: 10 * MIN });
    made.push(s);
    return s;
  };

  it("nextDailyAt: later today, or tomorrow once the time has come", () => {
    const at = (h: number, m: number): Date => new Date(2025, 0, 2, h, m, 0, 0);
    expect(nextDailyAt(at(1, 0), "03:30")).toEqual(at(3, 30));
    expect(nextDailyAt(at(3, 30), "03:30")).toEqual(new Date(2025, 0, 3, 3, 30));
    expect(nextDailyAt(at(23, 59), "00:00")).toEqual(new Date(2025, 0, 3, 0, 0));
  });

  it("runs every check once a day at the configured local time, in order, each after the other", async () => {
    const s = make();
    s.start();
    expect(s.nextAt?.getTime()).toBe(T0 + FIRST_RUN);
    await vi.advanceTimersByTimeAsync(FIRST_RUN - 1);
    expect(button.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1 + 3_000);
    expect([button.runs, camera.runs, audio.runs]).toEqual([[FIRST_RUN], [FIRST_RUN + 1_000], [FIRST_RUN + 2_000]]);
    expect(s.last.map((r) => [r.name, r.result, r.durationMs])).toEqual([["button", "pass", 1_000], ["camera", "pass", 1_000], ["audio", "pass", 1_000]]);
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(button.runs).toEqual([FIRST_RUN, FIRST_RUN + 24 * HOUR]);
    expect(logs.find("self-test finished")).toHaveLength(2);
  });

  it("is postponed while a call is active, tried again after retryAfterMin, then runs; the next day's run keeps its time", async () => {
    make().start();
    busy = "call active";
    await vi.advanceTimersByTimeAsync(FIRST_RUN + 15 * MIN);
    expect(button.runs).toEqual([]);
    expect(logs.find("self-test postponed").map((l) => l["reason"])).toEqual(["call active", "call active"]);
    busy = null;
    await vi.advanceTimersByTimeAsync(5 * MIN + 3_000);
    expect(audio.runs).toEqual([FIRST_RUN + 20 * MIN + 2_000]);
    await vi.advanceTimersByTimeAsync(24 * HOUR - 20 * MIN);
    expect(button.runs).toEqual([FIRST_RUN + 20 * MIN, FIRST_RUN + 24 * HOUR]);
  });

  it("an alarm raised during a run aborts it at once: no result for the check it interrupted, retried later", async () => {
    const s = make();
    s.start();
    camera.takesMs = 10_000;
    await vi.advanceTimersByTimeAsync(FIRST_RUN + 1_500);
    bus.emit("alarm.raised", { alert: { alertId: "a-1" } as never });
    await vi.advanceTimersByTimeAsync(0);
    expect(logs.find("alarm raised during the self-test: self-test aborted, the camera and speaker are the alarm's")).toHaveLength(1);
    expect(s.last.map((r) => r.name)).toEqual(["button"]);
    expect(audio.runs).toEqual([]);
    expect(faults.all).toEqual([]);
    await vi.advanceTimersByTimeAsync(10 * MIN + 15_000);
    expect(audio.runs).toEqual([FIRST_RUN + 1_500 + 10 * MIN + 1_000 + 10_000]);
  });

  it("a button that reads pressed is a blocking fault (lights); a failing camera or audio is degraded: reported, no light change", async () => {
    const s = make();
    button.outcome = { result: "fail", detail: "stuck", measurements: { stuck: 1 } };
    camera.outcome = { result: "fail", detail: "black picture", measurements: { meanLuma: 16 } };
    audio.outcome = { result: "not-applicable", detail: "no speaker" };
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    expect(faults.current).toEqual(["selftest:button"]);
    expect(faults.all).toEqual(["selftest:button", "selftest:camera"]);
    expect(changes).toEqual([["selftest:button"]]);
    expect(s.last.find((r) => r.name === "camera")).toMatchObject({ result: "fail", detail: "black picture", measurements: { meanLuma: 16 } });

    button.outcome = { result: "pass", detail: "idle" };
    camera.outcome = { result: "pass", detail: "live" };
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    expect(faults.all).toEqual([]);
    expect(changes).toEqual([["selftest:button"], []]);
  });

  it("a button line that cannot be read is reported, not a blocking fault; a failing button is read again (alone) every retryAfterMin until it passes", async () => {
    const s = make();
    button.outcome = { result: "fail", detail: "gpiomon restarting" };
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    expect(faults.current).toEqual([]);
    expect(faults.all).toEqual(["selftest:button"]);
    button.outcome = { result: "fail", detail: "stuck", measurements: { stuck: 1 } };
    await vi.advanceTimersByTimeAsync(10 * MIN + 1_000);
    expect(faults.current).toEqual(["selftest:button"]);
    expect([button.runs.length, camera.runs.length]).toEqual([2, 1]);
    button.outcome = { result: "pass", detail: "idle" };
    await vi.advanceTimersByTimeAsync(10 * MIN + 1_000);
    expect(faults.all).toEqual([]);
    expect(changes).toEqual([["selftest:button"], []]);
    await vi.advanceTimersByTimeAsync(30 * MIN);
    expect(button.runs).toHaveLength(3); // passing: no more re-reads until the daily run
  });

  it("a stuck button stored before a restart is reported but does not stop alarms until it is read again", async () => {
    button.outcome = { result: "fail", detail: "stuck", measurements: { stuck: 1 } };
    const s = make();
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    s.stop();
    const fresh = new FaultMonitor(bus, 120_000);
    const again = make(fresh);
    again.start(); // self-tests enabled
    expect(fresh.current).toEqual([]);
    expect(fresh.all).toEqual(["selftest:button"]);
    await vi.advanceTimersByTimeAsync(10 * MIN + 1_000); // read again: still stuck
    expect(fresh.current).toEqual(["selftest:button"]);
    // A press raises an alarm after all: the circuit works, the kiosk does not say out of order.
    bus.emit("alarm.raised", { alert: { alertId: "a-2" } as never });
    expect(fresh.current).toEqual([]);
    fresh.stop();
  });

  it("with self-tests switched off (never started), a failing button stored before a restart is not read again", async () => {
    button.outcome = { result: "fail", detail: "stuck", measurements: { stuck: 1 } };
    const s = make();
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    s.stop();
    const runs = button.runs.length;
    const fresh = new FaultMonitor(bus, 120_000);
    make(fresh); // the agent restarted; self-tests off: never started
    await vi.advanceTimersByTimeAsync(60 * MIN);
    expect(button.runs).toHaveLength(runs);
    expect(fresh.all).toEqual(["selftest:button"]); // still reported as stored
    fresh.stop();
  });

  it("on demand: runs now; a second request while it runs joins it; busy → null", async () => {
    const s = make();
    const first = s.run("on-demand");
    const second = s.run("on-demand");
    await vi.advanceTimersByTimeAsync(3_000);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a?.map((r) => r.result)).toEqual(["pass", "pass", "pass"]);
    expect(button.runs).toHaveLength(1);
    busy = "alarm open";
    await expect(s.run("on-demand")).resolves.toBeNull();
  });

  it("a check that throws is a failure with the reason, and the others still run", async () => {
    const s = make();
    camera.throws = new Error("ffmpeg vanished");
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    expect(s.last.map((r) => [r.name, r.result, r.detail])).toEqual([["button", "pass", "fine"], ["camera", "fail", "check failed: ffmpeg vanished"], ["audio", "pass", "fine"]]);
  });

  it("the last results survive a restart, and so do their faults", async () => {
    camera.outcome = { result: "fail", detail: "frozen picture" };
    const s = make();
    await Promise.all([s.run(), vi.advanceTimersByTimeAsync(3_000)]);
    s.stop();
    const fresh = new FaultMonitor(bus, 120_000);
    const again = make(fresh);
    expect(again.last).toEqual(s.last);
    expect(fresh.all).toEqual(["selftest:camera"]);
    fresh.stop();
  });

  it("an unreadable results file is ignored (and said so)", () => {
    make();
    writeFileSync(join(dataDir, "state", "self-tests.json"), "[1, 2");
    expect(make().last).toEqual([]);
    expect(logs.find("last self-test results unreadable: ignored")).toHaveLength(1);
  });
});

describe("an open alarm holds the self-tests and the test alarm back", () => {
  const HOUR = 3_600_000;
  const opened = { openedAt: "2025-01-02T03:00:00.000Z" };
  const at = (ms: number): Date => new Date(Date.parse(opened.openedAt) + ms);

  it("while a new press would still join it (reopenAfterMs), and no longer once nobody closed it for that long", () => {
    expect(alarmHoldsTests(null, at(0), 2 * HOUR)).toBeNull();
    expect(alarmHoldsTests(opened, at(0), 2 * HOUR)).toBe("alarm open");
    expect(alarmHoldsTests(opened, at(2 * HOUR - 1), 2 * HOUR)).toBe("alarm open");
    expect(alarmHoldsTests(opened, at(2 * HOUR), 2 * HOUR)).toBeNull();
  });
});


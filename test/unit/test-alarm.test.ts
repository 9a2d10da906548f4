import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlarmController } from "../../device/alarm/alarm-controller.js";
import { OpenAlarmFile } from "../../device/alarm/open-alarm.js";
import { TestAlarmSchedule } from "../../device/health/test-alarm.js";
import { Outbox } from "../../device/link/outbox.js";
import { systemClock } from "../../shared/clock.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import type { Alert } from "../../shared/contract.js";
import { createCallRig } from "../fixtures/call-rig.js";
import { LogCapture } from "../fixtures/log-capture.js";

const HOUR = 60 * 60_000;
const EVERY = 24 * HOUR;
const JITTER = 2 * HOUR;
const RETRY = 10 * 60_000;
const T0 = new Date("2025-01-02T03:00:00.000Z").getTime();

describe("TestAlarmSchedule", () => {
  let dataDir: string;
  let logs: LogCapture;
  let raised: number[];
  let busy: string | null;
  let random: number;
  let schedules: TestAlarmSchedule[];

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dataDir = mkdtempSync(join(tmpdir(), "sos-test-alarm-"));
    logs = new LogCapture();
    raised = [];
    busy = null;
    random = 0.5;
    schedules = [];
  });

  afterEach(() => {
    for (const s of schedules) s.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const make = (): TestAlarmSchedule => {
    const s = new TestAlarmSchedule({
      dataDir,
      everyMs: EVERY,
      jitterMs: JITTER,
      retryAfterMs: RETRY,
      clock: systemClock,
      log: logs.logger("test-alarm"),
      raise: () => {
        raised.push(Date.now() - T0);
        return { alertId: `t-${raised.length}` } as Alert;
      },
      busy: () => busy,
      random: () => random,
    });
    schedules.push(s);
    return s;
  };
  const onDisk = (): { lastAt: string | null; nextAt: string } => JSON.parse(readFileSync(join(dataDir, "state", "test-alarm.json"), "utf8")) as { lastAt: string | null; nextAt: string };

  it("first start: the first test is one interval plus the jitter ahead, and is written down at once", async () => {
    const s = make();
    s.start();
    expect(onDisk()).toEqual({ v: 1, lastAt: null, nextAt: new Date(T0 + EVERY + JITTER / 2).toISOString() });
    await vi.advanceTimersByTimeAsync(EVERY + JITTER / 2 - 1);
    expect(raised).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(raised).toEqual([EVERY + JITTER / 2]);
    expect(s.lastAt?.getTime()).toBe(T0 + EVERY + JITTER / 2);
  });

  it("repeats every interval plus a fresh jitter in [0, jitter), never past 72 h", async () => {
    const s = make();
    random = 0;
    s.start();
    random = 0.9999; // drawn when the first test goes: the second is a full jitter later
    await vi.advanceTimersByTimeAsync(EVERY);
    await vi.advanceTimersByTimeAsync(EVERY + JITTER);
    expect(raised).toEqual([EVERY, EVERY + EVERY + Math.floor(0.9999 * JITTER)]);
    expect(onDisk().lastAt).toBe(new Date(T0 + raised[1]!).toISOString());
    for (const [a, b] of [[0, raised[0]!], [raised[0]!, raised[1]!]] as const) expect(b - a).toBeLessThan(72 * HOUR);
  });

  it("a restart keeps the schedule: the test comes when it was due, not an interval after the restart", async () => {
    make().start();
    await vi.advanceTimersByTimeAsync(20 * HOUR);
    schedules[0]!.stop();
    random = 0; // would move the due time if the schedule were made anew
    make().start();
    await vi.advanceTimersByTimeAsync(5 * HOUR);
    expect(raised).toEqual([EVERY + JITTER / 2]);
  });

  it("a kiosk switched off past its due time tests as soon as it starts again", async () => {
    make().start();
    schedules[0]!.stop();
    vi.setSystemTime(T0 + 3 * EVERY);
    const s = make();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(raised).toEqual([3 * EVERY]);
    expect(s.nextAt?.getTime()).toBe(T0 + 3 * EVERY + EVERY + JITTER / 2);
  });

  it("waits while an alarm is open, trying again every retry interval", async () => {
    make().start();
    busy = "alarm open";
    await vi.advanceTimersByTimeAsync(EVERY + JITTER / 2 + 2 * RETRY);
    expect(raised).toEqual([]);
    expect(logs.find("test alarm postponed")).toHaveLength(3);
    busy = null;
    await vi.advanceTimersByTimeAsync(RETRY);
    expect(raised).toEqual([EVERY + JITTER / 2 + 3 * RETRY]);
  });

  it("a due time further ahead than one interval (written by a wrong clock) is replaced", async () => {
    make().start();
    schedules[0]!.stop();
    writeFileSync(join(dataDir, "state", "test-alarm.json"), JSON.stringify({ v: 1, lastAt: null, nextAt: "2040-01-01T00:00:00.000Z" }));
    make().start();
    expect(logs.find("test alarm due further ahead than one interval (the clock was wrong?): rescheduled")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(EVERY + JITTER);
    expect(raised).toEqual([EVERY + JITTER / 2]);
  });

  it("an unreadable schedule file starts a new schedule (and says so)", () => {
    make();
    writeFileSync(join(dataDir, "state", "test-alarm.json"), "{not json");
    make().start();
    expect(logs.find("test alarm schedule unreadable: starting a new one")).toHaveLength(1);
    expect(onDisk().nextAt).toBe(new Date(T0 + EVERY + JITTER / 2).toISOString());
  });
});

describe("a test alarm through the real AlarmController and CallManager", () => {
  let dataDir: string;
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dataDir = mkdtempSync(join(tmpdir(), "sos-test-alarm-"));
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("goes into the outbox as kind test / scheduled-test, opens no alarm, lights nothing and rings no operator", async () => {
    const rig = await createCallRig();
    const logs = new LogCapture();
    const config = parseKioskConfig({
      version: 1,
      kioskId: "kz-hwy-0001",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      mqtt: { url: "mqtt://gateway.example:1883", username: "kz-hwy-0001", password: "s3cret-password" },
      dataDir,
    });
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    const alarm = new AlarmController(config, { outbox, stateFile: new OpenAlarmFile(dataDir, logs.logger("state")), bus: rig.bus, clock: systemClock, log: logs.logger("alarm"), sensors: () => ({}) });
    const submitted: Alert[] = [];
    alarm.submit = (a) => submitted.push(a);
    const lightsBefore = rig.indicator.shown.length;
    const schedule = new TestAlarmSchedule({ dataDir, everyMs: EVERY, jitterMs: 0, retryAfterMs: RETRY, clock: systemClock, log: logs.logger("t"), raise: () => alarm.raise("test", "scheduled-test"), busy: () => null });
    schedule.start();
    await vi.advanceTimersByTimeAsync(EVERY + 10_000);
    schedule.stop();

    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({ kind: "test", trigger: "scheduled-test", kioskId: "kz-hwy-0001" });
    expect(readdirSync(join(dataDir, "outbox")).filter((f) => f.endsWith(".alert.json"))).toEqual([`${submitted[0]?.alertId}.alert.json`]);
    expect(alarm.openAlarm).toBeNull();
    expect(existsSync(join(dataDir, "state", "open-alarm.json"))).toBe(false);
    expect(rig.link.sent).toEqual([]);
    expect(rig.manager.status.phase).toBe("idle");
    expect(rig.indicator.shown.length).toBe(lightsBefore);
    expect(rig.player.played).toEqual([]);

    // The same rig does ring for an sos alarm: the silence above is the test alarm's, not the rig's.
    alarm.raise("sos", "button");
    await vi.advanceTimersByTimeAsync(1); // the raise's listeners, then the call's work: two setImmediates
    expect(rig.link.kinds).toContain("ring");
    await rig.manager.stop();
  });
});

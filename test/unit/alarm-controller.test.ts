import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlarmController } from "../../device/alarm/alarm-controller.js";
import { OpenAlarmFile } from "../../device/alarm/open-alarm.js";
import type { KioskEvents } from "../../device/events.js";
import { Outbox } from "../../device/link/outbox.js";
import { systemClock } from "../../shared/clock.js";
import { type KioskConfig, type KioskConfigInput, parseKioskConfig } from "../../shared/config/kiosk.js";
import type { Alert, KioskState } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

const T0 = new Date("2025-01-02T03:00:00.000Z").getTime();
const UPDATE_MS = 2_000;
const REOPEN_MS = 10 * 60_000;

type Recorded = { [K in keyof KioskEvents]: { event: K; payload: KioskEvents[K] } }[keyof KioskEvents];

describe("AlarmController", () => {
  let dataDir: string;
  let logs: LogCapture;
  let outbox: Outbox;
  let bus: EventBus<KioskEvents>;
  let events: Recorded[];
  let submits: { alert: Alert; at: number }[];
  let sensors: KioskState;
  let controllers: AlarmController[];

  const config = (press: KioskConfigInput["press"] = {}): KioskConfig =>
    parseKioskConfig({
      version: 1,
      kioskId: "kz-hwy-0001",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      mqtt: { url: "mqtt://gateway.example:1883", username: "kz-hwy-0001", password: "s3cret-password" },
      dataDir,
      press: { updateIntervalMs: UPDATE_MS, reopenAfterMs: REOPEN_MS, ...press },
    });

  /** A controller as the kiosk builds it: real outbox and state file in the temp data dir. */
  const make = (press: KioskConfigInput["press"] = {}): AlarmController => {
    const controller = new AlarmController(config(press), {
      outbox,
      stateFile: new OpenAlarmFile(dataDir, logs.logger("state")),
      bus,
      clock: systemClock,
      log: logs.logger("alarm"),
      sensors: () => ({ ...sensors }),
    });
    controller.submit = (alert) => submits.push({ alert: structuredClone(alert), at: Date.now() });
    controllers.push(controller);
    return controller;
  };

  const press = (c: AlarmController, kind: "press" | "bypass" = "press"): void => c.onPress(kind, new Date());
  /** Runs what a raise leaves for the check phase (its state write and alarm.raised), as the event loop would. */
  const settle = (): void => void vi.advanceTimersByTime(0);
  const of = <K extends keyof KioskEvents>(event: K): KioskEvents[K][] =>
    events.filter((e): e is Extract<Recorded, { event: K }> => e.event === event).map((e) => e.payload as KioskEvents[K]);
  const stateFilePath = (): string => join(dataDir, "state", "open-alarm.json");
  const onDisk = (alertId: string): Alert => JSON.parse(readFileSync(join(dataDir, "outbox", `${alertId}.alert.json`), "utf8")) as Alert;

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dataDir = mkdtempSync(join(tmpdir(), "sos-alarm-"));
    logs = new LogCapture();
    outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    events = [];
    for (const event of ["alert.recorded", "alarm.raised", "alarm.press-counted", "alarm.received", "alarm.closed"] as const) {
      bus.on(event, "test", (payload) => events.push({ event, payload } as Recorded));
    }
    submits = [];
    sensors = {};
    controllers = [];
  });

  afterEach(() => {
    for (const c of controllers) c.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the first press raises an sos alert that is in the outbox and becomes the open alarm (alarm.raised, trigger button, pressCount 1)", () => {
    const c = make();
    press(c);
    expect(outbox.depth).toBe(1);
    const [alert] = outbox.pending();
    expect(alert).toMatchObject({ v: 1, kind: "sos", kioskId: "kz-hwy-0001", trigger: "button", pressCount: 1, pressedAt: new Date(T0).toISOString() });
    expect(onDisk(alert!.alertId)).toEqual(alert);
    expect(c.openAlarm).toEqual({ alert, openedAt: alert!.pressedAt, received: false });
    settle();
    expect(of("alarm.raised")).toEqual([{ alert }]);
    expect(of("alert.recorded")).toEqual([{ alert, durable: true, recordMs: expect.any(Number) as number }]);
    expect(submits.map((s) => s.alert)).toEqual([alert]);
    expect(existsSync(stateFilePath())).toBe(true);
  });

  it("a raised alert's packet leaves as soon as it is on disk: before the open-alarm state is written and before alarm.raised (lights, the call)", async () => {
    const c = make();
    const atSend: { inOutbox: boolean; stateWritten: boolean; raised: number }[] = [];
    // As mqtt.js sends: publish() returns at once, and the packet is written to the socket on the next
    // tick (mqtt-packet corks the socket until then).
    c.submit = (alert) =>
      process.nextTick(() => atSend.push({ inOutbox: existsSync(join(dataDir, "outbox", `${alert.alertId}.alert.json`)), stateWritten: existsSync(stateFilePath()), raised: of("alarm.raised").length }));
    press(c);
    await new Promise((r) => process.nextTick(r));
    await Promise.resolve();
    expect(atSend).toEqual([{ inOutbox: true, stateWritten: false, raised: 0 }]);
    settle();
    expect(existsSync(stateFilePath())).toBe(true);
    expect(of("alarm.raised")).toHaveLength(1);
  });

  it("what a raise leaves for later is done first when the alarm is acknowledged, closed or pressed again before it ran", () => {
    for (const next of ["ack", "close", "press"] as const) {
      events.length = 0;
      const c = make();
      press(c);
      const alertId = c.openAlarm!.alert.alertId;
      if (next === "ack") c.onAcked(alertId);
      else if (next === "close") c.onClosed(alertId, "resolved");
      else press(c);
      const after = { ack: "alarm.received", close: "alarm.closed", press: "alarm.press-counted" }[next];
      expect(events.map((e) => e.event).filter((e) => e !== "alert.recorded"), next).toEqual(["alarm.raised", after]);
      const state = existsSync(stateFilePath()) ? (JSON.parse(readFileSync(stateFilePath(), "utf8")) as { received: boolean; alert: Alert }) : null;
      expect(state === null ? null : { received: state.received, pressCount: state.alert.pressCount }, next).toEqual(
        { ack: { received: true, pressCount: 1 }, close: null, press: { received: false, pressCount: 2 } }[next],
      );
      settle();
      expect(of("alarm.raised"), next).toHaveLength(1);
      c.onClosed(alertId, "resolved");
    }
  });

  it("ten presses while the alarm is open raise no new alert but count up (alarm.press-counted)", async () => {
    const c = make();
    press(c);
    const alertId = c.openAlarm!.alert.alertId;
    for (let i = 0; i < 10; i += 1) {
      await vi.advanceTimersByTimeAsync(100);
      press(c);
    }
    await vi.advanceTimersByTimeAsync(10 * UPDATE_MS);
    expect(of("alarm.raised")).toHaveLength(1);
    expect(outbox.depth).toBe(1);
    expect(of("alarm.press-counted")).toEqual(Array.from({ length: 10 }, (_, i) => ({ alertId, pressCount: i + 2 })));
    expect(c.openAlarm?.alert).toMatchObject({ alertId, pressCount: 11, lastPressAt: new Date(T0 + 1_000).toISOString() });
    expect(outbox.get(alertId)?.alert.pressCount).toBe(11);
    expect(onDisk(alertId).pressCount).toBe(11);
  });

  it("the open alarm is sent at most once per updateIntervalMs, and the last send carries the latest press count", async () => {
    const c = make();
    press(c);
    const alertId = c.openAlarm!.alert.alertId;
    const appended = vi.spyOn(outbox, "append");
    // A child pressing every 100 ms for 5 s: 50 more presses.
    for (let i = 0; i < 50; i += 1) {
      await vi.advanceTimersByTimeAsync(100);
      press(c);
    }
    await vi.advanceTimersByTimeAsync(10 * UPDATE_MS);
    expect(submits.every((s) => s.alert.alertId === alertId)).toBe(true);
    const times = submits.map((s) => s.at);
    for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(UPDATE_MS);
    // raise at 0, then at most one update per interval over the 5 s of presses
    expect(submits.length).toBeLessThanOrEqual(1 + Math.ceil(5_000 / UPDATE_MS));
    expect(submits.at(-1)?.alert.pressCount).toBe(51);
    // every update goes through the outbox before it is submitted
    expect(appended.mock.calls.map(([a]) => a.pressCount)).toEqual(submits.slice(1).map((s) => s.alert.pressCount));
    expect(onDisk(alertId).pressCount).toBe(51);
  });

  it("a single press on the open alarm is sent as an update (no later than updateIntervalMs after the raise)", async () => {
    const c = make();
    press(c);
    await vi.advanceTimersByTimeAsync(300);
    press(c);
    await vi.advanceTimersByTimeAsync(UPDATE_MS);
    expect(submits.map((s) => [s.alert.pressCount, s.at - T0])).toEqual([
      [1, 0],
      [2, UPDATE_MS],
    ]);
  });

  it("a press after a quiet spell longer than updateIntervalMs is sent at once", async () => {
    const c = make();
    press(c);
    await vi.advanceTimersByTimeAsync(3 * UPDATE_MS);
    press(c);
    await vi.advanceTimersByTimeAsync(0);
    expect(submits.map((s) => [s.alert.pressCount, s.at - T0])).toEqual([
      [1, 0],
      [2, 3 * UPDATE_MS],
    ]);
  });

  it("a bypass while the alarm is open raises a new alert with trigger hold-bypass that becomes the open one", () => {
    const c = make();
    press(c);
    const first = c.openAlarm!.alert;
    vi.advanceTimersByTime(30_000);
    press(c, "bypass");
    settle();
    const open = c.openAlarm!.alert;
    expect(open.alertId).not.toBe(first.alertId);
    expect(open).toMatchObject({ kind: "sos", trigger: "hold-bypass", pressCount: 1 });
    expect(outbox.depth).toBe(2);
    expect(of("alarm.raised").map((e) => e.alert.alertId)).toEqual([first.alertId, open.alertId]);
    expect(submits.map((s) => s.alert.alertId)).toEqual([first.alertId, open.alertId]);
    expect(logs.find("button held past the bypass time: raising a new alarm")).toHaveLength(1);
  });

  it("a bypass while a press-count update is waiting still sends the old alarm's last count before the new alarm", () => {
    const c = make();
    press(c);
    const first = c.openAlarm!.alert;
    vi.advanceTimersByTime(100);
    press(c); // counted; its update waits for updateIntervalMs
    expect(submits).toHaveLength(1);
    press(c, "bypass");
    expect(submits.map((s) => [s.alert.alertId, s.alert.pressCount])).toEqual([
      [first.alertId, 1],
      [first.alertId, 2],
      [c.openAlarm!.alert.alertId, 1],
    ]);
    expect(onDisk(first.alertId).pressCount).toBe(2);
  });

  it("a bypass with no alarm open raises an alert with trigger hold-bypass", () => {
    const c = make();
    press(c, "bypass");
    expect(c.openAlarm?.alert.trigger).toBe("hold-bypass");
  });

  it("onClosed(openId) clears the open alarm (alarm.closed) and the next press raises a new alert", () => {
    const c = make();
    press(c);
    const first = c.openAlarm!.alert.alertId;
    expect(c.onClosed(first, "resolved")).toBe(true);
    expect(c.openAlarm).toBeNull();
    expect(of("alarm.closed")).toEqual([{ alertId: first, outcome: "resolved" }]);
    expect(existsSync(stateFilePath())).toBe(false);
    press(c);
    settle();
    const second = c.openAlarm!.alert;
    expect(second.alertId).not.toBe(first);
    expect(second).toMatchObject({ trigger: "button", pressCount: 1 });
    expect(of("alarm.raised")).toHaveLength(2);
    expect(of("alarm.press-counted")).toEqual([]);
  });

  it("onClosed(openId) cancels a press-count update still waiting to be sent", async () => {
    const c = make();
    press(c);
    await vi.advanceTimersByTimeAsync(100);
    press(c);
    await vi.advanceTimersByTimeAsync(100);
    press(c);
    const before = submits.length;
    c.onClosed(c.openAlarm!.alert.alertId, "resolved");
    await vi.advanceTimersByTimeAsync(10 * UPDATE_MS);
    expect(submits).toHaveLength(before);
  });

  it("onClosed of another id does nothing and returns false", () => {
    const c = make();
    expect(c.onClosed("00000000-0000-4000-8000-000000000001", "resolved")).toBe(false);
    press(c);
    const open = c.openAlarm;
    expect(c.onClosed("00000000-0000-4000-8000-000000000001", "resolved")).toBe(false);
    expect(c.openAlarm).toEqual(open);
    expect(of("alarm.closed")).toEqual([]);
    expect(existsSync(stateFilePath())).toBe(true);
  });

  it("an alarm older than reopenAfterMs no longer absorbs presses", async () => {
    const c = make();
    press(c);
    const first = c.openAlarm!.alert.alertId;
    await vi.advanceTimersByTimeAsync(REOPEN_MS - 1);
    press(c);
    expect(c.openAlarm?.alert.alertId).toBe(first);
    expect(of("alarm.press-counted")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    press(c);
    settle();
    expect(c.openAlarm?.alert.alertId).not.toBe(first);
    expect(c.openAlarm?.alert).toMatchObject({ trigger: "button", pressCount: 1 });
    expect(of("alarm.raised")).toHaveLength(2);
  });

  it("after the clock went back, the open alarm (stamped later than the press) raises a new one instead of counting presses for ever", () => {
    const c = make();
    vi.setSystemTime(T0 + 3_600_000); // the alarm opens with the clock an hour ahead
    press(c);
    settle();
    const first = c.openAlarm!.alert.alertId;
    vi.setSystemTime(T0); // NTP puts it right
    press(c);
    settle();
    expect(c.openAlarm?.alert.alertId).not.toBe(first);
    expect(of("alarm.raised")).toHaveLength(2);
    expect(of("alarm.press-counted")).toHaveLength(0);
  });

  it("with coalesceWhileOpen false every press is a new alert", async () => {
    const c = make({ coalesceWhileOpen: false });
    for (let i = 0; i < 3; i += 1) {
      press(c);
      await vi.advanceTimersByTimeAsync(100);
    }
    const raised = of("alarm.raised").map((e) => e.alert);
    expect(raised).toHaveLength(3);
    expect(new Set(raised.map((a) => a.alertId)).size).toBe(3);
    expect(raised.every((a) => a.trigger === "button" && a.pressCount === 1)).toBe(true);
    expect(outbox.depth).toBe(3);
    expect(c.openAlarm?.alert.alertId).toBe(raised[2]?.alertId);
    expect(of("alarm.press-counted")).toEqual([]);
  });

  it("onAcked marks the open alarm received once (alarm.received once), and is persisted", () => {
    const c = make();
    press(c);
    const alertId = c.openAlarm!.alert.alertId;
    c.onAcked("00000000-0000-4000-8000-000000000001");
    expect(c.openAlarm?.received).toBe(false);
    c.onAcked(alertId);
    c.onAcked(alertId); // the ack for a later press-count update
    expect(c.openAlarm?.received).toBe(true);
    expect(of("alarm.received")).toEqual([{ alertId }]);
    expect((JSON.parse(readFileSync(stateFilePath(), "utf8")) as { received: boolean }).received).toBe(true);
  });

  it("the open alarm and its press count survive a restart (a new AlarmController over the same data dir)", async () => {
    const before = make();
    press(before);
    await vi.advanceTimersByTimeAsync(100);
    press(before);
    await vi.advanceTimersByTimeAsync(100);
    press(before);
    const alertId = before.openAlarm!.alert.alertId;
    before.onAcked(alertId);
    before.stop();

    const after = make();
    expect(after.openAlarm).toMatchObject({ alert: { alertId, pressCount: 3 }, received: true, openedAt: new Date(T0).toISOString() });
    await vi.advanceTimersByTimeAsync(100);
    press(after);
    expect(of("alarm.raised")).toHaveLength(1);
    expect(of("alarm.press-counted").at(-1)).toEqual({ alertId, pressCount: 4 });
    await vi.advanceTimersByTimeAsync(UPDATE_MS);
    expect(submits.at(-1)?.alert).toMatchObject({ alertId, pressCount: 4 });
  });

  /** The agent dies (a power cut): what is on disk is read again by a new outbox and controller. */
  const restartAfterPowerCut = (): AlarmController => {
    outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    return make();
  };

  it("presses counted in the last updateIntervalMs before a power cut are queued again at the restart; a count the outbox holds is not", async () => {
    const before = make();
    press(before);
    settle();
    const alertId = before.openAlarm!.alert.alertId;
    outbox.remove(alertId); // acknowledged at pressCount 1
    await vi.advanceTimersByTimeAsync(100);
    press(before);
    press(before);
    // The power cut comes before the update (due UPDATE_MS after the raise) is sent.
    const after = restartAfterPowerCut();
    expect(after.openAlarm?.alert).toMatchObject({ alertId, pressCount: 3 });
    expect(outbox.get(alertId)?.alert.pressCount).toBe(3);
    expect(onDisk(alertId).pressCount).toBe(3);
    expect(logs.find("open alarm's press count queued again at start: presses counted before the agent stopped reach the centre")).toHaveLength(1);
    // Started again with that count in the outbox: nothing more is queued.
    after.stop();
    restartAfterPowerCut();
    expect(logs.find("open alarm's press count queued again at start: presses counted before the agent stopped reach the centre")).toHaveLength(1);
  });

  it("an SOS alert whose open-alarm state a power cut kept from being written is the open alarm after the restart", async () => {
    const before = make();
    press(before);
    const alertId = before.openAlarm!.alert.alertId;
    // The packet left; the power went before the check phase wrote the state.
    expect(existsSync(stateFilePath())).toBe(false);

    const after = restartAfterPowerCut();
    expect(after.openAlarm).toEqual({ alert: outbox.get(alertId)?.alert, openedAt: new Date(T0).toISOString(), received: false });
    expect((JSON.parse(readFileSync(stateFilePath(), "utf8")) as { alert: Alert }).alert.alertId).toBe(alertId);
    expect(logs.find("open alarm restored from the outbox: its state had not been written when the agent stopped")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    press(after);
    expect(of("alarm.press-counted").at(-1)).toEqual({ alertId, pressCount: 2 });
    after.onAcked(alertId);
    expect(of("alarm.received")).toEqual([{ alertId }]);
  });

  it("a bypass alarm whose state a power cut kept from being written replaces the older saved alarm after the restart", async () => {
    const before = make();
    press(before);
    settle();
    const first = before.openAlarm!.alert.alertId;
    before.onAcked(first);
    outbox.remove(first);
    await vi.advanceTimersByTimeAsync(1_000);
    press(before, "bypass");
    const second = before.openAlarm!.alert.alertId;

    const after = restartAfterPowerCut();
    expect(after.openAlarm).toMatchObject({ alert: { alertId: second, trigger: "hold-bypass" }, received: false });
  });

  it("an alarm the centre closed before its ack arrived is not opened again from the outbox at the restart", () => {
    const before = make();
    press(before);
    settle();
    const alertId = before.openAlarm!.alert.alertId;
    expect(before.onClosed(alertId, "resolved")).toBe(true);
    expect(outbox.get(alertId)).toBeDefined(); // its ack never came: it is still sent again

    const after = restartAfterPowerCut();
    expect(after.openAlarm).toBeNull();
    expect(existsSync(stateFilePath())).toBe(false);
    expect(logs.find("open alarm restored from the outbox: its state had not been written when the agent stopped")).toEqual([]);
  });

  it("an SOS alert the box recorded under another kiosk id (re-provisioned since) is not opened again at the restart", () => {
    const alert: Alert = { v: 1, alertId: "0b9a4a8e-3f0c-4c55-9d55-3a1f0f7c2b10", kioskId: "kz-old-0001", kind: "sos", pressedAt: new Date(T0 - 60_000).toISOString(), location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" } };
    outbox.append(alert);

    const after = restartAfterPowerCut();
    expect(after.openAlarm).toBeNull();
    press(after);
    expect(after.openAlarm?.alert).toMatchObject({ kioskId: "kz-hwy-0001", pressCount: 1 });
  });

  it("an older SOS alert still in the outbox does not take the place of the saved open alarm at the restart", async () => {
    const before = make();
    press(before);
    settle();
    const first = before.openAlarm!.alert.alertId;
    await vi.advanceTimersByTimeAsync(1_000);
    press(before, "bypass");
    settle();
    const second = before.openAlarm!.alert.alertId;
    outbox.remove(second);

    const after = restartAfterPowerCut();
    expect(outbox.get(first)).toBeDefined();
    expect(after.openAlarm?.alert.alertId).toBe(second);
  });

  it("a press after the gateway refused the open alarm raises a new alarm instead of counting on the refused one", async () => {
    const c = make();
    press(c);
    settle();
    const refused = c.openAlarm!.alert.alertId;
    c.onRefused("another-alert");
    await vi.advanceTimersByTimeAsync(100);
    press(c);
    expect(c.openAlarm?.alert).toMatchObject({ alertId: refused, pressCount: 2 });

    c.onRefused(refused);
    await vi.advanceTimersByTimeAsync(100);
    press(c);
    settle();
    const raised = of("alarm.raised").map((e) => e.alert.alertId);
    expect(raised).toHaveLength(2);
    expect(raised[1]).not.toBe(refused);
    expect(c.openAlarm?.alert).toMatchObject({ alertId: raised[1], pressCount: 1, trigger: "button" });
    expect(logs.find("the gateway refused the open alarm: this press raises a new one")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    press(c);
    expect(c.openAlarm?.alert).toMatchObject({ alertId: raised[1], pressCount: 2 });
  });

  it("raise('test') records and sends a test alert but does not open an alarm", () => {
    const c = make();
    const alert = c.raise("test", "manual");
    expect(alert).toMatchObject({ kind: "test", trigger: "manual", pressCount: 1 });
    expect(outbox.get(alert.alertId)?.alert).toEqual(alert);
    expect(submits.map((s) => s.alert)).toEqual([alert]);
    expect(c.openAlarm).toBeNull();
    expect(of("alarm.raised")).toEqual([]);
    expect(of("alert.recorded").map((e) => e.alert)).toEqual([alert]);
    expect(existsSync(stateFilePath())).toBe(false);
    press(c);
    expect(c.openAlarm?.alert).toMatchObject({ kind: "sos", trigger: "button" });
  });

  it("raise('test') while an alarm is open leaves that alarm open", () => {
    const c = make();
    press(c);
    const open = c.openAlarm;
    c.raise("test", "scheduled-test");
    expect(c.openAlarm).toEqual(open);
  });

  it("kioskState on the alert is what the sensors function says at the time of the raise", () => {
    const c = make();
    press(c);
    expect(c.openAlarm?.alert).not.toHaveProperty("kioskState");
    c.onClosed(c.openAlarm!.alert.alertId, "resolved");
    sensors = { tamper: "open", power: "battery", batteryPercent: 40 };
    press(c);
    const alert = c.openAlarm!.alert;
    expect(alert.kioskState).toEqual({ tamper: "open", power: "battery", batteryPercent: 40 });
    expect(outbox.get(alert.alertId)?.alert.kioskState).toEqual({ tamper: "open", power: "battery", batteryPercent: 40 });
  });
});

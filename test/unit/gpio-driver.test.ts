import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createGpioIndicator, GpioIndicator, type GpioIndicatorOptions } from "../../device/indicators/gpio.js";
import { BEEP_MS, BLINK_HALF_PERIOD_MS } from "../../device/indicators/indicator.js";
import type { TamperEvent } from "../../device/inputs/button.js";
import { createGpioButton, GpioButton, type GpioButtonOptions } from "../../device/inputs/gpio.js";
import { systemClock } from "../../shared/clock.js";
import { ErrorCode, isSosError } from "../../shared/errors.js";
import { describeButtonInputContract } from "../contracts/button-input.contract.js";
import { describeIndicatorContract } from "../contracts/indicator.contract.js";
import { FakeGpioBoard, PI4_KERNEL_6_6, fakeSysfs } from "../fixtures/fake-gpio.js";
import { LogCapture } from "../fixtures/log-capture.js";

/** On the Pi 4 / kernel 6.6 tree the header chip's base is 512: BCM line n is sysfs number 512 + n. */
const sysfs = (line: number): number => 512 + line;

async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function buttonRig(options: Partial<GpioButtonOptions> = {}) {
  const tree = await fakeSysfs(PI4_KERNEL_6_6);
  const board = new FakeGpioBoard();
  const logs = new LogCapture();
  const button = new GpioButton(
    { line: 17, activeLow: true, debounceMs: 5, pollMs: 0, sysfsRoot: tree.root, retry: { minMs: 20, maxMs: 40, factor: 2, jitter: 0 }, ...options },
    { Gpio: board.Gpio, clock: systemClock, log: logs.logger("gpio-button", "debug") },
  );
  const events: string[] = [];
  const tampers: TamperEvent[] = [];
  button.on("press", () => events.push("press"));
  button.on("release", () => events.push("release"));
  button.on("tamper", (e) => tampers.push(e));
  cleanups.push(() => button.stop(), tree.cleanup);
  return { tree, board, logs, button, events, tampers };
}

describeButtonInputContract("gpio", async () => {
  const tree = await fakeSysfs(PI4_KERNEL_6_6);
  const board = new FakeGpioBoard();
  const button = new GpioButton(
    { line: 17, activeLow: true, debounceMs: 5, pollMs: 50, sysfsRoot: tree.root },
    { Gpio: board.Gpio, clock: systemClock, log: new LogCapture().logger("gpio-button") },
  );
  return { button, press: () => board.setLevel(sysfs(17), 0), release: () => board.setLevel(sysfs(17), 1), cleanup: tree.cleanup };
});

describe("GpioButton", () => {
  it("exports chip base + line as an input on both edges with onoff's debounce and active_low", async () => {
    const { board, button, logs } = await buttonRig({ debounceMs: 20 });
    await button.start();
    expect(board.exported.get(529)).toEqual({ gpio: 529, direction: "in", edge: "both", activeLow: true, debounceTimeout: 20 });
    expect(logs.find("gpio line opened")[0]).toMatchObject({ line: 17, gpio: 529, chip: "gpiochip512", label: "pinctrl-bcm2711", base: 512 });
    await button.stop();
    expect(board.exported.size).toBe(0);
  });

  it("activeLow: true: pulling the line to 0 V is a press, letting it float back up a release", async () => {
    const { board, button, events } = await buttonRig({ activeLow: true });
    await button.start();
    board.setLevel(529, 0);
    await until(() => events.length === 1, "press");
    board.setLevel(529, 1);
    await until(() => events.length === 2, "release");
    expect(events).toEqual(["press", "release"]);
  });

  it("activeLow: false: driving the line high is a press", async () => {
    const { board, button, events } = await buttonRig({ activeLow: false });
    board.levels.set(529, 0); // pull-down
    await button.start();
    expect(board.exported.get(529)?.activeLow).toBe(false);
    board.setLevel(529, 1);
    await until(() => events.length === 1, "press");
    board.setLevel(529, 0);
    await until(() => events.length === 2, "release");
    expect(events).toEqual(["press", "release"]);
  });

  it("a button held down at start is a press at once; its release follows", async () => {
    const { board, button, events, logs } = await buttonRig();
    board.levels.set(529, 0);
    await button.start();
    expect(events).toEqual(["press"]);
    expect(logs.find("button is held down at start: reported as a press")).toHaveLength(1);
    board.setLevel(529, 1);
    await until(() => events.length === 2, "release");
    expect(events).toEqual(["press", "release"]);
  });

  it("a repeated level (bounce settling where it was) reports nothing", async () => {
    const { board, button, events } = await buttonRig();
    await button.start();
    board.setLevel(529, 1);
    board.setLevel(529, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([]);
  });

  it("the level poll recovers a press and a release whose interrupts were lost, and logs it", async () => {
    const { board, button, events, logs } = await buttonRig({ pollMs: 20 });
    await button.start();
    board.setLevel(529, 0, { lost: true });
    await until(() => events.length === 1, "press recovered by the poll");
    board.setLevel(529, 1, { lost: true });
    await until(() => events.length === 2, "release recovered by the poll");
    expect(events).toEqual(["press", "release"]);
    expect(logs.find("gpio edge missed: recovered by the level poll").map((l) => l.active)).toEqual([true, false]);
  });

  it("the poll waits out onoff's debounce: an edge on its way is reported once, not as a missed edge", async () => {
    const { board, button, events, logs } = await buttonRig({ pollMs: 5, debounceMs: 60 });
    await button.start();
    board.setLevel(529, 0);
    await until(() => events.length === 1, "press");
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual(["press"]);
    expect(logs.find("gpio edge missed: recovered by the level poll")).toEqual([]);
  });

  it("a failing poll read is logged once, not every poll", async () => {
    const { board, button, logs } = await buttonRig({ pollMs: 5 });
    await button.start();
    board.unreadable.add(529);
    await new Promise((r) => setTimeout(r, 60));
    expect(logs.find("gpio level poll failed")).toHaveLength(1);
  });

  it("tamper line: the case open at start is reported, then each change; presses are not mixed in", async () => {
    const { board, button, events, tampers } = await buttonRig({ tamperLine: 27, pollMs: 20 });
    board.levels.set(539, 1); // switch open: line pulled up
    await button.start();
    expect(tampers.map((t) => t.open)).toEqual([true]);
    board.setLevel(539, 0); // case shut: switch closes to GND
    await until(() => tampers.length === 2, "tamper closed");
    board.setLevel(539, 1, { lost: true }); // opened, interrupt lost: the poll catches it
    await until(() => tampers.length === 3, "tamper open");
    expect(tampers.map((t) => t.open)).toEqual([true, false, true]);
    expect(tampers[2]?.at).toBeInstanceOf(Date);
    expect(events).toEqual([]);
    expect(board.exported.get(539)).toMatchObject({ direction: "in", edge: "both", activeLow: true });
  });

  it("a shut case at start reports no tamper", async () => {
    const { board, button, tampers } = await buttonRig({ tamperLine: 27 });
    board.levels.set(539, 0);
    await button.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(tampers).toEqual([]);
  });

  it("no header chip: start() resolves, the error is emitted once and logged, and opening is retried until it works", async () => {
    const { tree, board, button, events, logs } = await buttonRig();
    const ready = tree.root;
    await rename(ready, `${ready}-away`); // sysfs not there (yet)
    const errors: Error[] = [];
    button.on("error", (e) => errors.push(e));
    await button.start();
    expect(isSosError(errors[0], ErrorCode.ConfigInvalid)).toBe(true);
    await until(() => logs.find("gpio button cannot open its lines: retrying").length >= 3, "three attempts");
    expect(errors).toHaveLength(1);
    expect(logs.find("gpio button cannot open its lines: retrying")[0]).toMatchObject({ level: "error", code: "CONFIG_INVALID", retryInMs: 20 });
    // sysfs appears, but another process still holds the line: still retrying, still one error event.
    board.busy.add(529);
    await rename(`${ready}-away`, ready);
    await until(() => logs.find("gpio button cannot open its lines: retrying", (l) => String(l.err).includes("EBUSY")).length > 0, "busy");
    board.busy.delete(529);
    await until(() => board.exported.has(529), "line opened");
    board.setLevel(529, 0);
    await until(() => events.length === 1, "press after recovery");
    expect(errors).toHaveLength(1);
  });

  it("stop() while the lines are still being opened leaves nothing exported", async () => {
    const { board, button } = await buttonRig({ tamperLine: 27 });
    const starting = button.start();
    await button.stop();
    await starting;
    await new Promise((r) => setTimeout(r, 20));
    expect(board.exported.size).toBe(0);
  });

  it.skipIf(existsSync("/sys/class/gpio"))("createGpioButton loads the real onoff; without sysfs GPIO start() does not throw", async () => {
    const tree = await fakeSysfs(PI4_KERNEL_6_6);
    cleanups.push(tree.cleanup);
    const logs = new LogCapture();
    const button = await createGpioButton(
      { driver: "gpio", line: 17, activeLow: true, debounceMs: 20, pollMs: 250, sysfsRoot: tree.root },
      { clock: systemClock, log: logs.logger("gpio-button") },
    );
    cleanups.push(() => button.stop());
    const errors: Error[] = [];
    button.on("error", (e) => errors.push(e));
    await button.start();
    expect(errors[0]?.message).toMatch(/ENOENT.*\/sys\/class\/gpio\/export/);
    expect(logs.find("gpio button cannot open its lines: retrying")).toHaveLength(1);
  });
});

async function indicatorRig(options: Partial<GpioIndicatorOptions> = {}) {
  const tree = await fakeSysfs(PI4_KERNEL_6_6);
  const board = new FakeGpioBoard();
  const logs = new LogCapture();
  const indicator = new GpioIndicator(
    { yellowLine: 22, greenLine: 23, buzzerLine: 24, activeLow: false, sysfsRoot: tree.root, retry: { minMs: 20, maxMs: 40, factor: 2, jitter: 0 }, ...options },
    { Gpio: board.Gpio, log: logs.logger("gpio-indicator") },
  );
  cleanups.push(() => indicator.stop(), tree.cleanup);
  const lit = () => ({ yellow: board.isOn(sysfs(22)), green: board.isOn(sysfs(23)), buzzer: board.isOn(sysfs(24)) });
  return { tree, board, logs, indicator, lit };
}

describeIndicatorContract("gpio", async () => {
  const { board, indicator, tree } = await indicatorRig();
  return { indicator, hasBuzzer: true, read: () => ({ yellow: board.isOn(534), green: board.isOn(535), buzzer: board.isOn(536) }), cleanup: tree.cleanup };
});

describeIndicatorContract("gpio without a buzzer", async () => {
  const { board, indicator, tree } = await indicatorRig({ buzzerLine: undefined, activeLow: true });
  return { indicator, hasBuzzer: false, read: () => ({ yellow: board.isOn(534), green: board.isOn(535) }), cleanup: tree.cleanup };
});

describe("GpioIndicator", () => {
  it("exports outputs that start off; activeLow lights an LED by driving 0 V, and starts the line high", async () => {
    const { board, indicator } = await indicatorRig({ activeLow: true });
    await indicator.start();
    expect(board.exported.get(534)).toMatchObject({ direction: "high", activeLow: true });
    expect(board.levels.get(534)).toBe(1);
    indicator.show({ yellow: "on", green: "off" });
    expect(board.levels.get(534)).toBe(0);
    expect(board.levels.get(535)).toBe(1);
  });

  it("without activeLow, outputs start low and on is 3.3 V", async () => {
    const { board, indicator } = await indicatorRig();
    await indicator.start();
    expect(board.exported.get(535)).toMatchObject({ direction: "low", activeLow: false });
    indicator.show({ yellow: "off", green: "on" });
    expect(board.levels.get(535)).toBe(1);
  });

  it("blinks at BLINK_HALF_PERIOD_MS, starting lit, and keeps its phase when the same pattern is shown again", async () => {
    const { indicator, lit } = await indicatorRig();
    await indicator.start();
    vi.useFakeTimers();
    indicator.show({ yellow: "blink", green: "on" });
    const seen: boolean[] = [lit().yellow];
    for (let i = 0; i < 4; i += 1) {
      vi.advanceTimersByTime(BLINK_HALF_PERIOD_MS);
      indicator.show({ yellow: "blink", green: "on" });
      seen.push(lit().yellow);
    }
    expect(seen).toEqual([true, false, true, false, true]);
    expect(lit().green).toBe(true);
    indicator.show({ yellow: "off", green: "off" });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("beep sounds the buzzer for the given time; a second beep extends it", async () => {
    const { indicator, lit } = await indicatorRig();
    await indicator.start();
    vi.useFakeTimers();
    indicator.beep(BEEP_MS);
    expect(lit().buzzer).toBe(true);
    vi.advanceTimersByTime(BEEP_MS - 50);
    indicator.beep(BEEP_MS);
    vi.advanceTimersByTime(100);
    expect(lit().buzzer).toBe(true);
    vi.advanceTimersByTime(BEEP_MS);
    expect(lit().buzzer).toBe(false);
  });

  it("stop() turns every line off and unexports it", async () => {
    const { board, indicator } = await indicatorRig({ activeLow: true });
    await indicator.start();
    indicator.show({ yellow: "on", green: "blink" });
    indicator.beep(10_000);
    await indicator.stop();
    expect(board.exported.size).toBe(0);
    expect([534, 535, 536].map((n) => board.levels.get(n))).toEqual([1, 1, 1]); // active-low: off is 3.3 V
  });

  it("lines it cannot open are retried, logged, and the last pattern shown once they open", async () => {
    const { board, indicator, lit, logs } = await indicatorRig();
    board.busy.add(535);
    await indicator.start();
    indicator.show({ yellow: "on", green: "on" });
    expect(board.exported.size).toBe(0); // yellow was released again when green failed
    await until(() => logs.find("gpio indicator cannot open its lines: retrying").length >= 2, "retries");
    board.busy.delete(535);
    await until(() => lit().yellow && lit().green, "pattern shown after the retry");
  });

  it("createGpioIndicator loads the real onoff", async () => {
    const indicator = await createGpioIndicator(
      { driver: "gpio", yellowLine: 22, greenLine: 23, activeLow: false, sysfsRoot: "/nonexistent" },
      { log: new LogCapture().logger("gpio-indicator") },
    );
    expect(indicator.driver).toBe("gpio");
    indicator.beep(BEEP_MS); // no buzzer: nothing to do, no throw
  });
});

import { existsSync } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { GpiodIndicator, type GpiodIndicatorOptions } from "../../device/indicators/gpiod.js";
import { BEEP_MS } from "../../device/indicators/indicator.js";
import type { TamperEvent } from "../../device/inputs/button.js";
import { GpiodButton, type GpiodButtonOptions } from "../../device/inputs/gpiod.js";
import { systemClock } from "../../shared/clock.js";
import { describeButtonInputContract } from "../contracts/button-input.contract.js";
import { describeIndicatorContract, type LightsRead } from "../contracts/indicator.contract.js";
import { LogCapture } from "../fixtures/log-capture.js";

const BIN = fileURLToPath(new URL("../fixtures/bin/", import.meta.url));
const FAST = { minMs: 50, maxMs: 200, factor: 2, jitter: 0 };
const PI5_GPIODETECT = [
  "gpiochip0 [gpio-brcmstb@107d508500] (32 lines)",
  "gpiochip1 [gpio-brcmstb@107d508520] (4 lines)",
  "gpiochip2 [gpio-brcmstb@107d517c00] (17 lines)",
  "gpiochip3 [gpio-brcmstb@107d517c20] (6 lines)",
  "gpiochip4 [pinctrl-rp1] (54 lines)",
  "",
].join("\n");

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const read = async (path: string): Promise<string> => (existsSync(path) ? readFile(path, "utf8") : "");
const linesOf = async (path: string): Promise<string[]> => (await read(path)).split("\n").filter((l) => l !== "");

/** A folder with the fake tools linked as gpiomon, gpioset and gpiodetect; they keep their files there. */
async function toolsDir(tools: ("gpiomon" | "gpioset" | "gpiodetect")[] = ["gpiomon", "gpioset", "gpiodetect"]) {
  const dir = await mkdtemp(join(tmpdir(), "sos-gpiod-"));
  const link = (tool: "gpiomon" | "gpioset" | "gpiodetect") => symlink(join(BIN, tool === "gpiomon" ? "fake-gpiomon.js" : `fake-${tool}.sh`), join(dir, tool));
  for (const tool of tools) await link(tool);
  return { dir, path: (name: string) => join(dir, name), install: link, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function buttonRig(options: Partial<GpiodButtonOptions> = {}, tools?: Parameters<typeof toolsDir>[0]) {
  const t = await toolsDir(tools);
  const logs = new LogCapture();
  const button = new GpiodButton(
    { chip: "auto", line: 17, activeLow: true, bias: "pull-up", gpiomon: t.path("gpiomon"), gpiodetect: t.path("gpiodetect"), restart: FAST, ...options },
    { clock: systemClock, log: logs.logger("gpiod-button", "debug") },
  );
  const events: string[] = [];
  const tampers: TamperEvent[] = [];
  const errors: Error[] = [];
  button.on("press", () => events.push("press"));
  button.on("release", () => events.push("release"));
  button.on("tamper", (e) => tampers.push(e));
  button.on("error", (e) => errors.push(e));
  cleanups.push(t.cleanup, () => button.stop());
  /** Waits until the gpiomon now running watches its control file, then sets a line's level there. */
  const level = async (offset: number, value: 0 | 1): Promise<void> => {
    const pid = button.gpiomonPid;
    if (pid !== undefined) await until(async () => (await linesOf(t.path("gpiomon.ready"))).includes(String(pid)), `gpiomon ${pid} ready`);
    await appendFile(t.path("gpiomon.ctl"), `level ${offset} ${value}\n`);
  };
  const calls = async () => (await linesOf(t.path("gpiomon.calls"))).map((l) => JSON.parse(l) as { pid: number; args: string[] });
  return { t, logs, button, events, tampers, errors, level, calls };
}

describeButtonInputContract("gpiod", async () => {
  const { button, level } = await buttonRig();
  return { button, press: () => level(17, 0), release: () => level(17, 1) };
});

describe("GpiodButton", () => {
  it("runs `gpiomon -b -l -B pull-up -F '%o %e %s %n' gpiochip0 17 27` on the chip gpiodetect names", async () => {
    const { t, button, logs, calls } = await buttonRig({ tamperLine: 27 });
    await button.start();
    await until(async () => (await calls()).length === 1, "gpiomon started");
    expect((await calls())[0]?.args).toEqual(["-b", "-l", "-B", "pull-up", "-F", "%o %e %s %n", "gpiochip0", "17", "27"]);
    expect(await linesOf(t.path("gpiodetect.calls"))).toEqual(["gpiodetect "]);
    expect(logs.find("starting gpiomon")[0]?.command).toEqual([t.path("gpiomon"), "-b", "-l", "-B", "pull-up", "-F", "%o %e %s %n", "gpiochip0", "17", "27"]);
  });

  it("chip auto on a Pi 5 picks pinctrl-rp1, not the gpio-brcmstb chips", async () => {
    const { t, button, calls } = await buttonRig();
    await writeFile(t.path("gpiodetect.out"), PI5_GPIODETECT);
    await button.start();
    await until(async () => (await calls()).length === 1, "gpiomon started");
    expect((await calls())[0]?.args.slice(-2)).toEqual(["gpiochip4", "17"]);
  });

  it("a configured chip is passed as it is, without running gpiodetect", async () => {
    const { t, button, calls } = await buttonRig({ chip: "pinctrl-bcm2711" });
    await button.start();
    await until(async () => (await calls()).length === 1, "gpiomon started");
    expect((await calls())[0]?.args.slice(-2)).toEqual(["pinctrl-bcm2711", "17"]);
    expect(existsSync(t.path("gpiodetect.calls"))).toBe(false);
  });

  it("activeLow: true: 0 V on the line is a press", async () => {
    const { button, events, level } = await buttonRig({ activeLow: true });
    await button.start();
    await level(17, 0);
    await until(() => events.length === 1, "press");
    await level(17, 1);
    await until(() => events.length === 2, "release");
    expect(events).toEqual(["press", "release"]);
  });

  it("activeLow: false with pull-down: no -l, 3.3 V is a press", async () => {
    const { button, events, level, calls } = await buttonRig({ activeLow: false, bias: "pull-down" });
    await button.start();
    await level(17, 1);
    await until(() => events.length === 1, "press");
    await level(17, 0);
    await until(() => events.length === 2, "release");
    expect(events).toEqual(["press", "release"]);
    expect((await calls())[0]?.args).toEqual(["-b", "-B", "pull-down", "-F", "%o %e %s %n", "gpiochip0", "17"]);
  });

  it("tamper line: the switch opening is tamper {open: true}, closing {open: false}; no presses", async () => {
    const { button, events, tampers, level } = await buttonRig({ tamperLine: 27 });
    await button.start();
    await level(27, 0);
    await until(() => tampers.length === 1, "tamper closed");
    await level(27, 1);
    await until(() => tampers.length === 2, "tamper open");
    expect(tampers.map((t) => t.open)).toEqual([false, true]);
    expect(tampers[1]?.at).toBeInstanceOf(Date);
    expect(events).toEqual([]);
  });

  it("gpiomon crashes: it is restarted with backoff, `error` is emitted once, and presses still arrive", async () => {
    const { t, button, events, errors, level, logs, calls } = await buttonRig();
    await button.start();
    await level(17, 0);
    await until(() => events.length === 1, "first press");
    await appendFile(t.path("gpiomon.ctl"), "crash 3\n");
    await until(async () => (await calls()).length === 2, "gpiomon restarted");
    expect(logs.find("child process ended: restarting")[0]).toMatchObject({ process: "gpiomon", code: 3, restartInMs: 50 });
    await until(() => logs.find("gpiomon error output").length === 1, "stderr logged");
    expect(logs.find("gpiomon error output")[0]?.stderr).toBe("gpiomon: error waiting for events: Input/output error");
    expect(errors.map((e) => e.message)).toEqual(["gpiomon exited (code 3, signal null); restarting in 50 ms"]);
    // The contact opened while gpiomon was down: that edge is lost, the next ones are not.
    await level(17, 1);
    await until(() => events.length === 2, "release after restart");
    await level(17, 0);
    await until(() => events.length === 3, "press after restart");
    expect(events).toEqual(["press", "release", "press"]);
  });

  it("gpiomon failing at start (line busy) is retried with growing backoff until it works", async () => {
    const { t, button, events, level, logs, calls } = await buttonRig();
    await writeFile(t.path("gpiomon.fail"), "error waiting for events: Device or resource busy");
    await button.start();
    await until(() => logs.find("child process ended: restarting").length >= 2, "two restarts");
    expect(logs.find("child process ended: restarting").map((l) => l.restartInMs).slice(0, 2)).toEqual([50, 100]);
    expect(logs.find("gpiomon error output")[0]?.stderr).toBe("gpiomon: error waiting for events: Device or resource busy");
    await unlink(t.path("gpiomon.fail"));
    const started = (await calls()).length;
    await until(async () => (await calls()).length > started && button.gpiomonPid !== undefined, "gpiomon up");
    await level(17, 0);
    await until(() => events.length === 1, "press");
  });

  it("gpiomon not installed: start() resolves, it is logged once and retried, and works once installed", async () => {
    const { t, button, events, errors, level, logs } = await buttonRig({}, ["gpiodetect"]);
    await button.start();
    await until(() => logs.find("child process ended: restarting").length >= 3, "three attempts");
    const missing = logs.find("gpiod tool not found: install the Debian package gpiod (apt install gpiod) or set its path in the config; retrying with backoff");
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ level: "error", tool: "gpiomon", path: t.path("gpiomon"), configKey: "button.gpiomon" });
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe("ENOENT");
    await t.install("gpiomon");
    await until(() => logs.find("gpiod tool found").length === 1, "gpiomon found", 8_000);
    await level(17, 0);
    await until(() => events.length === 1, "press once installed");
  });

  it("gpiodetect not installed (chip auto): logged once, retried, and the button works once it is there", async () => {
    const { t, button, events, level, logs, calls } = await buttonRig({}, ["gpiomon"]);
    await button.start();
    await until(() => logs.find("gpiod tool not found: install the Debian package gpiod (apt install gpiod) or set its path in the config; retrying with backoff").length === 1, "logged");
    await new Promise((r) => setTimeout(r, 250)); // 50, 100 ms: two more attempts, logged no more
    expect(existsSync(t.path("gpiomon.calls"))).toBe(false);
    expect(logs.find("gpiod tool not found: install the Debian package gpiod (apt install gpiod) or set its path in the config; retrying with backoff")).toEqual([
      expect.objectContaining({ tool: "gpiodetect", configKey: "button.gpiodetect", retryInMs: 50 }),
    ]);
    await t.install("gpiodetect");
    await until(async () => (await calls()).length === 1, "gpiomon started", 8_000);
    await level(17, 0);
    await until(() => events.length === 1, "press");
  });

  it("gpiodetect lists no header chip: one-line error naming what it found, retried", async () => {
    const { t, button, logs } = await buttonRig();
    await writeFile(t.path("gpiodetect.out"), "gpiochip0 [raspberrypi-exp-gpio] (8 lines)\n");
    await button.start();
    await until(() => logs.find("gpiod button cannot find its GPIO chip: retrying").length >= 2, "two attempts");
    const line = logs.find("gpiod button cannot find its GPIO chip: retrying")[0];
    expect(line).toMatchObject({ code: "CONFIG_INVALID", retryInMs: 50 });
    expect(line?.err).toContain("found: gpiochip0 [raspberrypi-exp-gpio]");
    expect(line?.err).not.toContain("\n");
  });

  it("output that is not an event is logged and ignored", async () => {
    const { t, button, events, level, logs } = await buttonRig();
    await button.start();
    await level(17, 1); // no change from the pull-up: nothing printed
    await appendFile(t.path("gpiomon.ctl"), "raw event:  RISING EDGE offset: 17 timestamp: [1.000000001]\n");
    await until(() => logs.find("unexpected gpiomon output ignored").length === 1, "logged");
    expect(events).toEqual([]);
  });
});

async function indicatorRig(options: Partial<GpiodIndicatorOptions> = {}, tools?: Parameters<typeof toolsDir>[0]) {
  const t = await toolsDir(tools);
  const logs = new LogCapture();
  const indicator = new GpiodIndicator(
    { chip: "auto", yellowLine: 22, greenLine: 23, buzzerLine: 24, activeLow: false, gpioset: t.path("gpioset"), gpiodetect: t.path("gpiodetect"), restart: FAST, ...options },
    { log: logs.logger("gpiod-indicator") },
  );
  cleanups.push(t.cleanup, () => indicator.stop());
  const state = async () => {
    const [head = "", ...values] = await linesOf(t.path("gpioset.state"));
    const v = Object.fromEntries(values.map((kv) => kv.split("=").map(Number) as [number, number]));
    return { head, lit: (line: number) => v[line] === 1, pid: Number(/pid=(\d+)/.exec(head)?.[1]) };
  };
  const lights = async (): Promise<LightsRead> => {
    const s = await state();
    return { yellow: s.lit(22), green: s.lit(23), buzzer: s.lit(24) };
  };
  return { t, logs, indicator, state, lights, calls: () => linesOf(t.path("gpioset.calls")) };
}

describeIndicatorContract("gpiod", async () => {
  const { indicator, lights } = await indicatorRig();
  return { indicator, hasBuzzer: true, read: lights };
});

describeIndicatorContract("gpiod without a buzzer", async () => {
  const { indicator, lights } = await indicatorRig({ buzzerLine: undefined, activeLow: true });
  return { indicator, hasBuzzer: false, read: async () => ({ ...(await lights()), buzzer: undefined }) };
});

describe("GpiodIndicator", () => {
  it("holds the lines with `gpioset --mode=signal`, replaces it for each change, and turns all off with --mode=exit at stop", async () => {
    const { indicator, calls, state } = await indicatorRig();
    await indicator.start();
    await until(async () => (await calls()).length === 1, "gpioset started");
    indicator.show({ yellow: "on", green: "off" });
    await until(async () => (await calls()).length === 2, "gpioset replaced");
    const holding = (await state()).pid;
    await indicator.stop();
    expect(await calls()).toEqual(["--mode=signal gpiochip0 22=0 23=0 24=0", "--mode=signal gpiochip0 22=1 23=0 24=0", "--mode=exit gpiochip0 22=0 23=0 24=0"]);
    expect((await state()).head).toMatch(/^chip=gpiochip0 active_low=0 mode=exit /);
    expect(() => process.kill(holding, 0)).toThrow(/ESRCH/); // no gpioset left holding the lines
  });

  it("activeLow passes -l: the values stay logical (1 = lit)", async () => {
    const { indicator, calls } = await indicatorRig({ activeLow: true, buzzerLine: undefined, chip: "gpiochip4" });
    await indicator.start();
    indicator.show({ yellow: "off", green: "on" });
    await until(async () => (await calls()).includes("--mode=signal -l gpiochip4 22=0 23=1"), "gpioset -l");
  });

  it("a gpioset killed from outside is restarted with the current values", async () => {
    const { indicator, state, logs } = await indicatorRig();
    await indicator.start();
    indicator.show({ yellow: "on", green: "on" });
    await until(async () => (await state()).lit(23), "green on");
    const pid = (await state()).pid;
    process.kill(pid, "SIGKILL");
    await until(async () => (await state()).pid !== pid, "gpioset restarted");
    expect(logs.find("child process ended: restarting")[0]).toMatchObject({ process: "gpioset", signal: "SIGKILL", restartInMs: 50 });
    expect(await state()).toMatchObject({ head: expect.stringContaining("mode=signal") as unknown });
    expect((await state()).lit(22) && (await state()).lit(23)).toBe(true);
  });

  it("gpioset not installed: logged once, retried, no throw; the pattern shown appears once it is installed", async () => {
    const { t, indicator, logs, lights } = await indicatorRig({}, ["gpiodetect"]);
    await indicator.start();
    indicator.show({ yellow: "on", green: "off" });
    indicator.beep(BEEP_MS);
    await until(() => logs.find("child process ended: restarting").length >= 3, "three attempts");
    expect(logs.find("gpiod tool not found: install the Debian package gpiod (apt install gpiod) or set its path in the config; retrying with backoff")).toEqual([
      expect.objectContaining({ tool: "gpioset", configKey: "indicator.gpioset" }),
    ]);
    await t.install("gpioset");
    await until(async () => (await lights()).yellow, "yellow on once gpioset is there", 8_000);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { ButtonEvent, PowerEvent, TamperEvent } from "../../device/inputs/button.js";
import { SerialPanel } from "../../device/inputs/serial-panel.js";
import { formatPanelCommand, parsePanelLine } from "../../device/inputs/serial-panel-protocol.js";
import { describeButtonInputContract } from "../contracts/button-input.contract.js";
import { describeIndicatorContract } from "../contracts/indicator.contract.js";
import { FakeSerialPanel } from "../fixtures/fake-serial-panel.js";
import { LogCapture } from "../fixtures/log-capture.js";

let serial = 0;
const fastReopen = { minMs: 20, maxMs: 100, factor: 2, jitter: 0 };

function makePanel(options: { pingIntervalMs?: number; plugged?: boolean } = {}): { fake: FakeSerialPanel; panel: SerialPanel; logs: LogCapture } {
  serial += 1;
  const fake = new FakeSerialPanel(`/dev/serial/by-id/usb-SOS_Kiosk_Panel_${serial}-if00`);
  if (options.plugged === false) fake.unplug();
  const logs = new LogCapture();
  const panel = new SerialPanel({
    path: fake.path,
    baudRate: 115_200,
    binding: fake.binding,
    reopen: fastReopen,
    pingIntervalMs: options.pingIntervalMs ?? 5_000,
    log: logs.logger("serial-panel-test", "debug"),
  });
  return { fake, panel, logs };
}

async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describeButtonInputContract("serial", () => {
  const { fake, panel } = makePanel();
  return { button: panel, press: () => fake.send("BTN DOWN\n"), release: () => fake.send("BTN UP\n") };
});

describeIndicatorContract("serial", () => {
  const { fake, panel } = makePanel();
  return { indicator: panel, hasBuzzer: true, read: () => ({ yellow: fake.light("yellow"), green: fake.light("green"), buzzer: fake.buzzer }) };
});

describe("serial panel protocol", () => {
  it("parses every panel message, tolerating \\r and case", () => {
    expect(parsePanelLine("BTN DOWN")).toEqual({ kind: "button", down: true });
    expect(parsePanelLine("btn up\r")).toEqual({ kind: "button", down: false });
    expect(parsePanelLine("TAMPER OPEN")).toEqual({ kind: "tamper", open: true });
    expect(parsePanelLine("TAMPER CLOSED")).toEqual({ kind: "tamper", open: false });
    expect(parsePanelLine("POWER MAINS")).toEqual({ kind: "power", source: "mains" });
    expect(parsePanelLine("POWER BATTERY 42")).toEqual({ kind: "power", source: "battery", batteryPercent: 42 });
    expect(parsePanelLine("HELLO sos-panel 1.4.2")).toEqual({ kind: "hello", firmware: "sos-panel 1.4.2" });
    expect(parsePanelLine("PONG")).toEqual({ kind: "pong" });
  });

  it("calls everything else unknown, with a reason", () => {
    for (const line of ["", "BTN", "BTN SIDEWAYS", "POWER BATTERY 101", "POWER BATTERY -1", "POWER BATTERY", "HELLO", "PONG 1", "REBOOT", "BTN DOWN\u00e9"]) {
      expect(parsePanelLine(line).kind, line).toBe("unknown");
    }
  });

  it("formats kiosk commands as newline-terminated ASCII lines", () => {
    expect(formatPanelCommand({ kind: "led", light: "yellow", mode: "blink" })).toBe("LED YELLOW BLINK\n");
    expect(formatPanelCommand({ kind: "led", light: "green", mode: "off" })).toBe("LED GREEN OFF\n");
    expect(formatPanelCommand({ kind: "beep", durationMs: 150.4 })).toBe("BUZZER BEEP 150\n");
    expect(formatPanelCommand({ kind: "beep", durationMs: 60_000 })).toBe("BUZZER BEEP 10000\n");
    expect(formatPanelCommand({ kind: "ping" })).toBe("PING\n");
  });
});

describe("SerialPanel", () => {
  let current: SerialPanel | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });

  it("reassembles lines split across reads", async () => {
    const { fake, panel } = makePanel();
    current = panel;
    fake.answerPings = false; // a PONG would land inside the split line
    const kinds: string[] = [];
    panel.on("press", () => kinds.push("press"));
    panel.on("release", () => kinds.push("release"));
    await panel.start();
    for (const part of ["BT", "N DO", "WN\r\nBTN U", "P", "\n"]) {
      fake.send(part);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => kinds.length === 2, "press and release");
    expect(kinds).toEqual(["press", "release"]);
  });

  it("reports tamper and power changes, once per change", async () => {
    const { fake, panel } = makePanel();
    current = panel;
    const tamper: TamperEvent[] = [];
    const power: PowerEvent[] = [];
    panel.on("tamper", (e) => tamper.push(e));
    panel.on("power", (e) => power.push(e));
    await panel.start();
    fake.send("TAMPER OPEN\nTAMPER OPEN\nTAMPER CLOSED\nPOWER MAINS\nPOWER BATTERY 80\nPOWER BATTERY 80\nPOWER BATTERY 79\n");
    await until(() => power.length === 3, "three power events");
    expect(tamper.map((e) => e.open)).toEqual([true, false]);
    expect(tamper[0]?.at).toBeInstanceOf(Date);
    expect(power.map((e) => [e.source, e.batteryPercent])).toEqual([
      ["mains", undefined],
      ["battery", 80],
      ["battery", 79],
    ]);
  });

  it("logs and ignores unknown lines, an over-long line included, and keeps working", async () => {
    const { fake, panel, logs } = makePanel();
    current = panel;
    let presses = 0;
    panel.on("press", () => (presses += 1));
    fake.answerPings = false;
    await panel.start();
    const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
    fake.send("REBOOT NOW\nBTN SIDEWAYS\n");
    await tick();
    for (let i = 0; i < 3; i += 1) {
      fake.send("X".repeat(200)); // 600 bytes without a newline, over several reads
      await tick();
    }
    fake.send("\nBTN DOWN\n");
    await until(() => presses === 1, "the press after the noise");
    const ignored = logs.find("unknown panel line ignored");
    expect(ignored.map((l) => l.panelLine)).toEqual(["REBOOT NOW", "BTN SIDEWAYS"]);
    expect(logs.find("panel line too long: dropped (wrong baud rate?)")).toHaveLength(1);
  });

  it("sends the LED state on connect and again when the panel says HELLO", async () => {
    const { fake, panel } = makePanel();
    current = panel;
    panel.show({ yellow: "on", green: "blink" });
    await panel.start();
    await until(() => fake.mode("green") === "blink", "LED state after connect");
    expect(fake.lines().filter((l) => l.startsWith("LED"))).toEqual(["LED YELLOW ON", "LED GREEN BLINK"]);
    panel.show({ yellow: "on", green: "on" }); // only the change is sent
    await until(() => fake.mode("green") === "on", "green on");
    fake.send("HELLO sos-panel 1.4.2\n");
    await until(() => fake.lines().filter((l) => l.startsWith("LED")).length === 5, "state re-sent after HELLO");
    expect(fake.lines().filter((l) => l.startsWith("LED")).slice(3)).toEqual(["LED YELLOW ON", "LED GREEN ON"]);
    expect(panel.firmware).toBe("sos-panel 1.4.2");
    panel.beep(150);
    await until(() => fake.lines().includes("BUZZER BEEP 150"), "beep line");
  });

  it("reopens the panel when it is unplugged and plugged back: LED state re-sent, presses arrive again", async () => {
    const { fake, panel, logs } = makePanel();
    current = panel;
    const errors: Error[] = [];
    const kinds: string[] = [];
    panel.on("error", (err) => errors.push(err));
    panel.on("press", () => kinds.push("press"));
    panel.on("release", () => kinds.push("release"));
    await panel.start();
    panel.show({ yellow: "on", green: "blink" });
    fake.send("BTN DOWN\n");
    await until(() => kinds.length === 1, "first press");

    fake.unplug();
    await until(() => !panel.isConnected, "disconnect noticed");
    // The release never came: one is assumed, so the press rules do not see a 30 s hold.
    await until(() => kinds.length === 2, "assumed release");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/EIO/);
    await new Promise((r) => setTimeout(r, 200)); // reopen attempts fail while the device is gone
    expect(fake.opened).toHaveLength(1);
    expect(errors).toHaveLength(1); // one outage, one error event

    fake.plugIn();
    await until(() => panel.isConnected, "reconnected", 2_000);
    expect(fake.opened).toHaveLength(2);
    await until(() => fake.mode("green") === "blink" && fake.mode("yellow") === "on", "LED state re-sent");
    fake.send("BTN DOWN\nBTN UP\n");
    await until(() => kinds.length === 4, "presses after replug");
    expect(kinds).toEqual(["press", "release", "press", "release"]);
    expect(logs.find("serial panel connected")).toHaveLength(2);
  });

  it("starts without the panel plugged in and connects when it appears", async () => {
    const { fake, panel } = makePanel({ plugged: false });
    current = panel;
    const errors: Error[] = [];
    panel.on("error", (err) => errors.push(err));
    await panel.start();
    expect(panel.isConnected).toBe(false);
    expect(errors[0]?.message).toMatch(/Port does not exist/);
    panel.show({ yellow: "blink", green: "off" });
    fake.plugIn();
    await until(() => panel.isConnected, "connected once plugged in", 2_000);
    await until(() => fake.mode("yellow") === "blink", "state sent");
  });

  it("treats a panel that stops answering PING as gone, and reopens it", async () => {
    const { fake, panel, logs } = makePanel({ pingIntervalMs: 40 });
    current = panel;
    await panel.start();
    await new Promise((r) => setTimeout(r, 200)); // answered: stays on one connection
    expect(fake.opened).toHaveLength(1);
    fake.answerPings = false;
    await until(() => fake.opened.length >= 2, "reopened after silence");
    expect(logs.find("serial panel lost").at(0)?.err).toMatchObject({ message: "no answer from the panel within 40 ms" });
    fake.answerPings = true;
    await until(() => panel.isConnected, "connected again");
  });

  it("switches the LEDs off and closes the port on stop", async () => {
    const { fake, panel } = makePanel();
    await panel.start();
    panel.show({ yellow: "on", green: "on" });
    const port = fake.current;
    await panel.stop();
    expect(port?.isOpen).toBe(false);
    expect(fake.mode("yellow", port)).toBe("off");
    expect(fake.mode("green", port)).toBe("off");
  });

  it("is shared by both roles: it runs until stopped as often as it was started", async () => {
    const { fake, panel } = makePanel();
    current = panel;
    await panel.start(); // as the ButtonInput
    await panel.start(); // as the Indicator
    await panel.stop();
    expect(panel.isConnected).toBe(true);
    await panel.stop();
    expect(panel.isConnected).toBe(false);
    expect(fake.current).toBeUndefined();
  });

  it("emits press events with the time of the line", async () => {
    const { fake, panel } = makePanel();
    current = panel;
    const presses: ButtonEvent[] = [];
    panel.on("press", (e) => presses.push(e));
    await panel.start();
    const before = Date.now();
    fake.send("BTN DOWN\n");
    await until(() => presses.length === 1, "press");
    expect(presses[0]!.at.getTime()).toBeGreaterThanOrEqual(before);
  });
});

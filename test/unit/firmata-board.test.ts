/**
 * firmata/board.ts in-process on mock-firmata: a johnny-five Board with `io: new MockFirmata()`.
 * mock-firmata's digitalRead does nothing, so the test registers reads the way firmata.js does
 * (a `digital-read-N` listener) and drives the pins by emitting that event; its digitalWrite does
 * nothing either, so outputs are read from johnny-five's `led.isOn`.
 */
import mockFirmata, { type MockFirmata } from "mock-firmata";
import { afterEach, describe, expect, it } from "vitest";
import { type PanelBoard, wirePanelBoard } from "../../device/inputs/firmata/board.js";
import type { ChildMessage, FirmataChildConfig } from "../../device/inputs/firmata/ipc.js";
import { LogCapture } from "../fixtures/log-capture.js";

const BUTTON = 2;
const TAMPER = 3;
const config: Pick<FirmataChildConfig, "button" | "tamperPin" | "lights" | "blinkHalfPeriodMs" | "readyTimeoutMs"> = {
  button: { pin: BUTTON, pullup: true, holdtimeMs: 500 },
  tamperPin: TAMPER,
  lights: { yellowPin: 11, greenPin: 12, buzzerPin: 8 },
  blinkHalfPeriodMs: 30,
  readyTimeoutMs: 5_000,
};

interface Rig {
  readonly io: MockFirmata;
  readonly panel: PanelBoard;
  readonly sent: ChildMessage[];
  readonly fatal: Error[];
  /** Drive a pin as the board would report it (pull-up: 0 = closed to GND). */
  pin(pin: number, value: 0 | 1): void;
  ready(): void;
}

function rig(overrides: Partial<typeof config> = {}): Rig {
  const io = new mockFirmata.Firmata();
  io.digitalRead = (pin, callback) => void io.on(`digital-read-${pin}`, callback);
  const sent: ChildMessage[] = [];
  const fatal: Error[] = [];
  const panel = wirePanelBoard({
    io,
    config: { ...config, ...overrides },
    send: (m) => sent.push(m),
    onFatal: (err) => fatal.push(err),
    log: new LogCapture().logger("firmata-board-test"),
    firmware: () => "StandardFirmata.ino 2.5",
  });
  return {
    io,
    panel,
    sent,
    fatal,
    pin: (pin, value) => void io.emit(`digital-read-${pin}`, value),
    ready: () => {
      io.emit("connect");
      io.emit("ready");
    },
  };
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

describe("firmata board wiring (johnny-five on mock-firmata)", () => {
  let current: Rig | undefined;
  afterEach(() => {
    current?.panel.dispose();
    current = undefined;
  });

  it("says ready, with the firmware, once the board is ready, and not before", () => {
    const r = (current = rig());
    expect(r.sent).toEqual([]);
    expect(r.panel.outputs()).toBeUndefined();
    r.ready();
    expect(r.sent).toEqual([{ type: "ready", firmware: "StandardFirmata.ino 2.5" }]);
    expect(r.panel.outputs()).toEqual({ yellow: false, green: false, buzzer: false });
  });

  it("turns the button pin going low and high into press and release (pull-up)", async () => {
    const r = (current = rig());
    r.ready();
    r.pin(BUTTON, 0);
    await until(() => r.sent.length === 2, "press");
    r.pin(BUTTON, 0); // the same reading again is no edge
    r.pin(BUTTON, 1);
    await until(() => r.sent.length === 3, "release");
    await wait(30);
    expect(r.sent.slice(1)).toEqual([{ type: "press" }, { type: "release" }]);
  });

  it("reports the tamper switch once per change, the first reading included", async () => {
    const r = (current = rig());
    r.ready();
    r.pin(TAMPER, 0); // closed: the case is shut
    await wait(20);
    r.pin(TAMPER, 1); // open
    await wait(20);
    r.pin(TAMPER, 1); // Switch re-reports every reading of its port
    await wait(20);
    r.pin(TAMPER, 0);
    await until(() => r.sent.length === 4, "three tamper reports");
    expect(r.sent.slice(1)).toEqual([
      { type: "tamper", open: false },
      { type: "tamper", open: true },
      { type: "tamper", open: false },
    ]);
  });

  it("shows lights sent before ready once the board is ready, then follows each pattern", async () => {
    const r = (current = rig());
    r.panel.apply({ type: "lights", yellow: "on", green: "off" });
    r.ready();
    expect(r.panel.outputs()).toMatchObject({ yellow: true, green: false });
    r.panel.apply({ type: "lights", yellow: "off", green: "on" });
    expect(r.panel.outputs()).toMatchObject({ yellow: false, green: true });
    r.panel.apply({ type: "lights", yellow: "blink", green: "on" });
    const seen = new Set<boolean>();
    await until(() => {
      seen.add(r.panel.outputs()!.yellow);
      return seen.size === 2;
    }, "yellow blinking");
    r.panel.apply({ type: "lights", yellow: "off", green: "off" });
    await wait(100);
    expect(r.panel.outputs()).toMatchObject({ yellow: false, green: false });
  });

  it("sounds the buzzer for the asked duration", async () => {
    const r = (current = rig());
    r.ready();
    r.panel.apply({ type: "beep", durationMs: 40 });
    expect(r.panel.outputs()?.buzzer).toBe(true);
    await until(() => r.panel.outputs()?.buzzer === false, "buzzer off");
  });

  it("works without lights or tamper switch: beeps and lights are ignored", async () => {
    const r = (current = rig({ lights: undefined, tamperPin: undefined }));
    r.ready();
    r.panel.apply({ type: "lights", yellow: "on", green: "on" });
    r.panel.apply({ type: "beep", durationMs: 40 });
    expect(r.panel.outputs()).toBeUndefined();
    r.pin(BUTTON, 0);
    await until(() => r.sent.length === 2, "press");
    r.pin(BUTTON, 1);
    await until(() => r.sent.length === 3, "release");
  });

  it("calls a closed or failing board fatal, once", () => {
    const r = (current = rig());
    r.ready();
    r.io.emit("close");
    r.io.emit("error", new Error("read EIO"));
    expect(r.fatal.map((e) => e.message)).toEqual(["board connection closed"]);
  });

  it("calls a board that connects but never gets ready fatal", async () => {
    const r = (current = rig({ readyTimeoutMs: 100 }));
    r.io.emit("connect");
    await until(() => r.fatal.length === 1, "ready timeout");
    expect(r.fatal[0]?.message).toMatch(/Device or Firmware Error|timeout/);
  });
});

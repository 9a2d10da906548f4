/**
 * Pure wiring of johnny-five components to IPC messages, given an IO plugin object: the real
 * child passes firmata-io's Firmata on a serialport 13 port, tests pass mock-firmata.
 * The SOS button is a Button, the tamper switch a Switch, the LEDs and the (active) buzzer Leds.
 * Board faults go to `onFatal`: johnny-five cannot reconnect (rwaldron/johnny-five#649, #1790),
 * so the process that owns the board ends and its supervisor starts a fresh one.
 */
import five, { type Board, type Led } from "johnny-five";
import type { Logger } from "pino";
import type { LightMode } from "../../indicators/indicator.js";
import type { ChildMessage, FirmataChildConfig, ParentMessage } from "./ipc.js";

export interface PanelBoardOptions {
  /** A Firmata-compatible IO plugin instance. */
  readonly io: unknown;
  readonly config: Pick<FirmataChildConfig, "button" | "tamperPin" | "lights" | "blinkHalfPeriodMs" | "readyTimeoutMs">;
  readonly send: (message: ChildMessage) => void;
  /** The board is gone or broken (close, disconnect, error, no ready in time). Called once. */
  readonly onFatal: (err: Error) => void;
  readonly log: Logger;
  /** Sent with `ready`; the child reads it from the IO plugin. */
  readonly firmware?: () => string | undefined;
}

export interface PanelBoard {
  readonly board: Board;
  /** Lights and beeps from the parent; lights that arrive before the board is ready are shown at ready. */
  apply(message: ParentMessage): void;
  /** What the outputs show now (johnny-five's led.isOn); undefined before ready or without lights. */
  outputs(): { yellow: boolean; green: boolean; buzzer?: boolean } | undefined;
  /** Lights and buzzer off, timers cleared (before the process exits). */
  dispose(): void;
}

type Lights = Extract<ParentMessage, { type: "lights" }>;

function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  // johnny-five also emits its own log records ({ class, message }) as "error" events.
  const message = typeof value === "object" && value !== null && "message" in value ? String(value.message) : String(value);
  return new Error(message);
}

export function wirePanelBoard(options: PanelBoardOptions): PanelBoard {
  const { config, send, log } = options;
  // repl/debug/sigint off: no REPL on stdin, no console.log, no process-wide SIGINT handler.
  const board = new five.Board({ io: options.io, repl: false, debug: false, sigint: false, timeout: config.readyTimeoutMs });
  let leds: { yellow: Led; green: Led; buzzer: Led | undefined } | undefined;
  const modes: Record<"yellow" | "green", LightMode | undefined> = { yellow: undefined, green: undefined };
  let pendingLights: Lights | undefined;
  let beepTimer: NodeJS.Timeout | undefined;
  let failed = false;

  const fatal = (value: unknown): void => {
    if (failed) return;
    failed = true;
    options.onFatal(asError(value));
  };
  board.on("error", fatal);
  board.on("close", () => fatal(new Error("board connection closed")));
  board.on("disconnect", () => fatal(new Error("board disconnected")));
  board.on("warn", (event: { class?: string; message?: string }) => log.warn({ component: event.class }, event.message ?? "johnny-five warning"));

  const showLights = (lights: Lights): void => {
    if (leds === undefined) {
      pendingLights = lights;
      return;
    }
    for (const color of ["yellow", "green"] as const) {
      const mode = lights[color];
      if (modes[color] === mode) continue; // re-starting a blink would glitch it
      modes[color] = mode;
      const led = leds[color].stop();
      if (mode === "off") led.off();
      else led.on();
      if (mode === "blink") led.blink(config.blinkHalfPeriodMs);
    }
  };

  board.once("ready", () => {
    const { button: buttonConfig, tamperPin, lights } = config;
    const button = new five.Button({ pin: buttonConfig.pin, isPullup: buttonConfig.pullup, holdtime: buttonConfig.holdtimeMs, board });
    let down = false;
    button.on("down", () => {
      if (down) return;
      down = true;
      send({ type: "press" });
    });
    button.on("up", () => {
      if (!down) return;
      down = false;
      send({ type: "release" });
    });
    if (tamperPin !== undefined) {
      // Switch reports every reading of its port, not only changes.
      const tamper = new five.Switch({ pin: tamperPin, type: "NO", board });
      let open: boolean | undefined;
      const report = (isOpen: boolean): void => {
        if (open === isOpen) return;
        open = isOpen;
        send({ type: "tamper", open: isOpen });
      };
      tamper.on("open", () => report(true));
      tamper.on("close", () => report(false));
    }
    if (lights !== undefined) {
      leds = {
        yellow: new five.Led({ pin: lights.yellowPin, board }).off(),
        green: new five.Led({ pin: lights.greenPin, board }).off(),
        buzzer: lights.buzzerPin === undefined ? undefined : new five.Led({ pin: lights.buzzerPin, board }).off(),
      };
    }
    const firmware = options.firmware?.();
    log.info({ firmware, pin: buttonConfig.pin, tamperPin, lights }, "firmata board ready");
    send(firmware === undefined ? { type: "ready" } : { type: "ready", firmware });
    if (pendingLights !== undefined) showLights(pendingLights);
    pendingLights = undefined;
  });

  return {
    board,
    apply(message) {
      switch (message.type) {
        case "lights":
          showLights(message);
          return;
        case "beep": {
          const buzzer = leds?.buzzer;
          if (buzzer === undefined) return;
          clearTimeout(beepTimer);
          buzzer.on();
          beepTimer = setTimeout(() => buzzer.off(), message.durationMs);
          return;
        }
      }
    },
    outputs() {
      if (leds === undefined) return undefined;
      const { yellow, green, buzzer } = leds;
      return buzzer === undefined ? { yellow: yellow.isOn, green: green.isOn } : { yellow: yellow.isOn, green: green.isOn, buzzer: buzzer.isOn };
    },
    dispose() {
      clearTimeout(beepTimer);
      if (leds === undefined) return;
      for (const led of [leds.yellow, leds.green, leds.buzzer]) led?.stop().off();
    },
  };
}

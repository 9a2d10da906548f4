/**
 * Builds the hardware adapters named in kiosk.json. Each driver module is imported only when it is
 * configured, so a laptop kiosk never loads onoff, serialport or johnny-five. A Firmata board or a
 * serial panel that carries both the button and the lights is one object serving both ports.
 * The lights are only made once the button is armed: a driver that cannot load never holds it up.
 */
import type { Logger } from "pino";
import type { Clock } from "../shared/clock.js";
import type { KioskConfig } from "../shared/config/kiosk.js";
import { type PromptPlayer, SilentPlayer } from "./audio/player.js";
import type { Indicator } from "./indicators/indicator.js";
import { LogIndicator } from "./indicators/none.js";
import type { ButtonInput } from "./inputs/button.js";
import { StdinButton } from "./inputs/stdin.js";
import type { KioskDeps } from "./main.js";

export interface Hardware {
  readonly button: ButtonInput;
  /** The lights' driver name, and how to make them: called only once the button is armed (device/indicators/start-lights.ts). */
  readonly indicatorDriver: string;
  readonly createIndicator: () => Promise<Indicator>;
  readonly player: PromptPlayer;
}

type Panel = ButtonInput & Indicator;

/** The board or panel shared by button and lights, made once. */
async function createPanel(config: KioskConfig, deps: KioskDeps, clock: Clock, log: Logger): Promise<Panel | undefined> {
  const b = config.button;
  if (b.driver === "serial") {
    const { SerialPanel } = await import("./inputs/serial-panel.js");
    return new SerialPanel({ path: b.path, baudRate: b.baudRate, log, clock, ...(deps.serialBinding === undefined ? {} : { binding: deps.serialBinding }) });
  }
  if (b.driver === "firmata") {
    const { FirmataPanel } = await import("./inputs/firmata/driver.js");
    const i = config.indicator;
    return new FirmataPanel({ button: b, lights: i.driver === "firmata" ? i : undefined, log, clock });
  }
  return undefined;
}

async function createButton(config: KioskConfig, deps: KioskDeps, panel: Panel | undefined, clock: Clock, log: Logger): Promise<ButtonInput> {
  const b = config.button;
  switch (b.driver) {
    case "stdin":
      return new StdinButton(deps.stdin ?? process.stdin, clock, { enterIsPress: b.enterIsPress, unknown: (hint) => log.warn({ subsystem: "button" }, hint) });
    case "gpio": {
      const { createGpioButton } = await import("./inputs/gpio.js");
      return createGpioButton(b, { clock, log });
    }
    case "gpiod": {
      const { GpiodButton } = await import("./inputs/gpiod.js");
      return new GpiodButton(b, { clock, log });
    }
    case "serial":
    case "firmata":
      if (panel === undefined) throw new Error(`${b.driver} panel missing`);
      return panel;
  }
}

async function createIndicator(config: KioskConfig, panel: Panel | undefined, log: Logger): Promise<Indicator> {
  const i = config.indicator;
  switch (i.driver) {
    case "none":
      return new LogIndicator(log);
    case "gpio": {
      const { createGpioIndicator } = await import("./indicators/gpio.js");
      return createGpioIndicator(i, { log });
    }
    case "gpiod": {
      const { GpiodIndicator } = await import("./indicators/gpiod.js");
      return new GpiodIndicator(i, { log });
    }
    case "serial":
    case "firmata":
      // The config schema guarantees the button is on the same board or panel.
      if (panel === undefined) throw new Error(`${i.driver} panel missing`);
      return panel;
  }
}

async function createPlayer(config: KioskConfig, log: Logger): Promise<PromptPlayer> {
  const a = config.audio;
  if (a.player === "none") return new SilentPlayer((prompt) => log.info({ prompt, language: a.language }, "voice prompt (no player)"));
  const { AplayPlayer } = await import("./audio/aplay.js");
  return new AplayPlayer({ language: a.language, volume: a.volume, device: a.device, promptsDir: a.promptsDir }, log);
}

export async function createHardware(config: KioskConfig, deps: KioskDeps, clock: Clock, log: Logger): Promise<Hardware> {
  const needsPanel = deps.button === undefined || deps.indicator === undefined;
  const panel = needsPanel ? await createPanel(config, deps, clock, log.child({ subsystem: "panel" })) : undefined;
  const button = deps.button ?? (await createButton(config, deps, panel, clock, log.child({ subsystem: "button" })));
  const given = deps.indicator;
  const player = deps.player ?? (await createPlayer(config, log.child({ subsystem: "audio" })));
  return {
    button,
    indicatorDriver: given?.driver ?? config.indicator.driver,
    createIndicator: () => (given === undefined ? createIndicator(config, panel, log.child({ subsystem: "indicator" })) : Promise.resolve(given)),
    player,
  };
}

/**
 * Yellow and green lights and an optional buzzer on Raspberry Pi header GPIO through sysfs, with
 * onoff's Gpio class passed in (tests pass a fake). createGpioIndicator() loads the real onoff.
 *
 * - Each line is exported as an output that starts inactive: direction "low", or "high" with
 *   activeLow (sysfs applies high/low to the raw level), so an active-low LED does not flash on.
 * - Blinking is done in software (SoftwareLights: BLINK_HALF_PERIOD_MS on, as long off); only
 *   changed levels are written.
 * - stop() turns every line off and unexports it. Hardware faults are logged, never thrown; lines
 *   that cannot be opened (no header chip, busy) are retried with backoff, and the last pattern
 *   shown is applied once they open.
 */
import type { Logger } from "pino";
import { Backoff, defaultBackoff, type BackoffPolicy } from "../../shared/backoff.js";
import type { IndicatorConfig } from "../../shared/config/kiosk.js";
import { ErrorCode, SosError, errorMessage } from "../../shared/errors.js";
import { sysfsGpioNumber } from "../gpio/chip-base.js";
import { loadOnoffGpio, type Bit, type GpioClass, type GpioLine } from "../gpio/onoff.js";
import type { Indicator, LightPattern } from "./indicator.js";
import { SoftwareLights, type Output } from "./software-lights.js";

export type GpioIndicatorConfig = Extract<IndicatorConfig, { driver: "gpio" }>;

export interface GpioIndicatorOptions extends Omit<GpioIndicatorConfig, "driver"> {
  /** Delays between attempts to open the lines after a failure. */
  readonly retry?: BackoffPolicy;
}

export interface GpioIndicatorDeps {
  readonly Gpio: GpioClass;
  readonly log: Logger;
}

interface OpenLine {
  readonly output: Output;
  readonly line: number;
  readonly gpio: GpioLine;
  written: Bit;
}

export class GpioIndicator implements Indicator {
  readonly driver = "gpio";
  private running = false;
  private generation = 0;
  private lines: OpenLine[] = [];
  private readonly lights = new SoftwareLights(() => this.render());
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private writeFailing = false;

  constructor(
    private readonly options: GpioIndicatorOptions,
    private readonly deps: GpioIndicatorDeps,
  ) {
    this.backoff = new Backoff(options.retry ?? defaultBackoff);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.lights.start();
    await this.open();
  }

  show(pattern: LightPattern): void {
    this.lights.show(pattern);
  }

  beep(durationMs: number): void {
    if (this.options.buzzerLine !== undefined) this.lights.beep(durationMs);
  }

  stop(): Promise<void> {
    this.running = false;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.lights.stop();
    this.close(this.lines);
    this.lines = [];
    return Promise.resolve();
  }

  private wanted(): [Output, number][] {
    const { yellowLine, greenLine, buzzerLine } = this.options;
    const lines: [Output, number][] = [
      ["yellow", yellowLine],
      ["green", greenLine],
    ];
    if (buzzerLine !== undefined) lines.push(["buzzer", buzzerLine]);
    return lines;
  }

  private async open(): Promise<void> {
    const { Gpio, log } = this.deps;
    const { activeLow, sysfsRoot } = this.options;
    const generation = this.generation;
    const current = (): boolean => this.running && generation === this.generation;
    const opened: OpenLine[] = [];
    try {
      for (const [output, line] of this.wanted()) {
        const { gpio, chip } = await sysfsGpioNumber(sysfsRoot, line);
        if (!current()) break;
        opened.push({ output, line, gpio: new Gpio(gpio, activeLow ? "high" : "low", "none", { activeLow }), written: 0 });
        log.info({ output, line, gpio, chip: chip.name, label: chip.label, base: chip.base, activeLow }, "gpio line opened");
      }
    } catch (err) {
      this.close(opened);
      if (!current()) return;
      const retryInMs = this.backoff.next();
      log.error({ err: errorMessage(err), code: (err as { code?: unknown }).code, retryInMs }, "gpio indicator cannot open its lines: retrying");
      this.retryTimer = setTimeout(() => void this.open(), retryInMs);
      return;
    }
    if (!current()) {
      this.close(opened);
      return;
    }
    this.lines = opened;
    this.backoff.reset();
    this.render();
  }

  private render(): void {
    const levels = this.lights.levels();
    for (const l of this.lines) {
      const value = levels[l.output];
      if (value !== l.written) this.write(l, value);
    }
  }

  private write(l: OpenLine, value: Bit): void {
    try {
      l.gpio.writeSync(value);
      l.written = value;
      this.writeFailing = false;
    } catch (err) {
      if (!this.writeFailing) this.deps.log.warn({ output: l.output, line: l.line, err: errorMessage(err) }, "gpio write failed");
      this.writeFailing = true;
    }
  }

  private close(lines: OpenLine[]): void {
    for (const l of lines) {
      try {
        l.gpio.writeSync(0);
        l.gpio.unexport();
      } catch (err) {
        this.deps.log.warn({ output: l.output, line: l.line, err: errorMessage(err) }, "gpio line off/unexport failed");
      }
    }
  }
}

/** The real adapter: a GpioIndicator on onoff, which is loaded only here. */
export async function createGpioIndicator(config: GpioIndicatorConfig, deps: Omit<GpioIndicatorDeps, "Gpio">): Promise<GpioIndicator> {
  let Gpio: GpioClass;
  try {
    Gpio = await loadOnoffGpio();
  } catch (err) {
    throw new SosError(ErrorCode.ConfigInvalid, `indicator driver "gpio" cannot load onoff (${errorMessage(err)}); reinstall the agent's dependencies (npm ci) or use the "gpiod" driver`, { cause: err });
  }
  return new GpioIndicator(config, { ...deps, Gpio });
}

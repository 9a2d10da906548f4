/**
 * A button (and optional tamper switch) on Raspberry Pi header GPIO through sysfs, with onoff's Gpio
 * class passed in (tests pass a fake). createGpioButton() loads the real onoff, only on kiosks
 * configured for it.
 *
 * - Lines are exported as inputs watching both edges, with onoff's debounce and the kernel's
 *   active_low (activeLow: true = the contact pulls the line to GND, the usual wiring with a
 *   pull-up), so readSync() and the watch callbacks give 1 while the contact is closed.
 * - The sysfs number is the header chip's base + the BCM line, read at start (device/gpio/chip-base).
 * - Pi 5 interrupts can be lost (fivdi/onoff#197): every pollMs the level is read; a level that
 *   disagrees with the last one seen, and still does once onoff's debounce has had its time, is a
 *   missed edge: it is reported (press/release/tamper) and logged.
 * - A button already held at start is reported as a press at once (its release follows normally).
 * - Tamper: the switch is wired like the button and closed (active) while the case is shut, so a
 *   cut wire reads as open. `tamper` is emitted on each change, and at start if the case is open.
 * - A start that fails (no header chip, line busy, sysfs not ready at boot) never throws: it is
 *   logged, `error` is emitted once per failing streak, and it is retried with backoff.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import type { ButtonConfig } from "../../shared/config/kiosk.js";
import { ErrorCode, SosError, errorMessage } from "../../shared/errors.js";
import { sysfsGpioNumber } from "../gpio/chip-base.js";
import { loadOnoffGpio, type Bit, type GpioClass, type GpioLine } from "../gpio/onoff.js";
import { BUTTON_RETRY, type ButtonEvents, type ButtonInput, type CircuitReading } from "./button.js";

export type GpioButtonConfig = Extract<ButtonConfig, { driver: "gpio" }>;

export interface GpioButtonOptions extends Omit<GpioButtonConfig, "driver"> {
  /** Delays between attempts to open the lines after a failure. */
  readonly retry?: BackoffPolicy;
}

export interface GpioDeps {
  readonly Gpio: GpioClass;
  readonly clock: Clock;
  readonly log: Logger;
}

type Role = "button" | "tamper";

interface Watched {
  readonly role: Role;
  /** BCM line number, as in the config. */
  readonly line: number;
  readonly gpio: GpioLine;
  /** Last level reported: true = contact closed. */
  active: boolean;
  confirm?: NodeJS.Timeout;
}

/** Extra wait before a polled level counts, on top of onoff's debounce. */
const CONFIRM_SLACK_MS = 10;

export class GpioButton extends EventEmitter<ButtonEvents> implements ButtonInput {
  readonly driver = "gpio";
  private running = false;
  /** Bumped by stop(): an open() still awaiting sysfs from before it gives up. */
  private generation = 0;
  private lines: Watched[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private failing = false;
  private pollFailing = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: GpioButtonOptions,
    private readonly deps: GpioDeps,
  ) {
    super();
    this.backoff = new Backoff(options.retry ?? BUTTON_RETRY);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.stopping; // a stop() still unexporting the lines
    await this.open();
  }

  stop(): Promise<void> {
    this.stopping = this.halt();
    return this.stopping;
  }

  /** Reads the button line now (the self-test). */
  circuit(): Promise<CircuitReading> {
    const w = this.lines.find((l) => l.role === "button");
    if (w === undefined) return Promise.resolve({ state: "unavailable", reason: `gpio line ${this.options.line} is not open (see the gpio errors in the log)` });
    try {
      return Promise.resolve({ state: w.gpio.readSync() === 1 ? "active" : "idle" });
    } catch (err) {
      return Promise.resolve({ state: "unavailable", reason: `gpio line ${this.options.line} cannot be read: ${errorMessage(err)}` });
    }
  }

  private async halt(): Promise<void> {
    this.running = false;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const lines = this.lines;
    this.lines = [];
    if (lines.length === 0) return;
    for (const w of lines) w.gpio.unwatchAll();
    // onoff's debounced interrupt handler reads the line's fd even with no watcher left: let one
    // still pending run before unexport closes that fd (it would throw EBADF from a timer).
    if (this.options.debounceMs > 0) await new Promise((r) => setTimeout(r, this.options.debounceMs + CONFIRM_SLACK_MS));
    this.release(lines);
  }

  private wanted(): [Role, number][] {
    const { line, tamperLine } = this.options;
    return tamperLine === undefined ? [["button", line]] : [["button", line], ["tamper", tamperLine]];
  }

  private async open(): Promise<void> {
    const { log, Gpio } = this.deps;
    const generation = this.generation;
    const current = (): boolean => this.running && generation === this.generation;
    const opened: Watched[] = [];
    try {
      for (const [role, line] of this.wanted()) {
        const { gpio, chip } = await sysfsGpioNumber(this.options.sysfsRoot, line);
        if (!current()) break;
        const handle = new Gpio(gpio, "in", "both", { debounceTimeout: this.options.debounceMs, activeLow: this.options.activeLow });
        const w: Watched = { role, line, gpio: handle, active: false };
        opened.push(w); // before the read: a line that fails it is still unexported
        w.active = handle.readSync() === 1;
        log.info({ role, line, gpio, chip: chip.name, label: chip.label, base: chip.base, activeLow: this.options.activeLow }, "gpio line opened");
      }
    } catch (err) {
      this.release(opened);
      if (current()) this.fail(err);
      return;
    }
    if (!current()) {
      this.release(opened);
      return;
    }
    this.lines = opened;
    this.backoff.reset();
    const recovered = this.failing;
    this.failing = false;
    if (recovered) {
      this.deps.log.info({ line: this.options.line }, "gpio button working again: its lines are open");
      this.emit("recovered");
    }
    for (const w of opened) {
      w.gpio.watch((err, value) => this.onEdge(w, err, value));
      // Held at start (someone holding it through an agent restart, or stuck): a press, as the
      // press rules expect from a contact that is closed; they turn a stuck one into press + bypass.
      if (w.role === "button" && w.active) {
        log.warn({ line: w.line }, "button is held down at start: reported as a press");
        this.emit("press", { at: this.deps.clock.now() });
      }
      if (w.role === "tamper" && !w.active) this.emit("tamper", { at: this.deps.clock.now(), open: true });
    }
    if (this.options.pollMs > 0) this.pollTimer = setInterval(() => this.poll(), this.options.pollMs);
  }

  private fail(err: unknown): void {
    const retryInMs = this.backoff.next();
    // Retried every few hundred ms: the first failure of a streak is the error, the retries debug.
    this.deps.log[this.failing ? "debug" : "error"]({ err: errorMessage(err), code: (err as { code?: unknown }).code, retryInMs, line: this.options.line }, "gpio button cannot open its lines: retrying");
    if (!this.failing && this.listenerCount("error") > 0) this.emit("error", err instanceof Error ? err : new Error(errorMessage(err)));
    this.failing = true;
    this.retryTimer = setTimeout(() => void this.open(), retryInMs);
  }

  private release(lines: Watched[]): void {
    for (const w of lines) {
      clearTimeout(w.confirm);
      try {
        w.gpio.unwatchAll();
        w.gpio.unexport();
      } catch (err) {
        this.deps.log.warn({ line: w.line, err: errorMessage(err) }, "gpio line unexport failed");
      }
    }
  }

  private onEdge(w: Watched, err: Error | null | undefined, value: Bit): void {
    if (!this.running) return;
    if (err) {
      this.deps.log.warn({ line: w.line, err: errorMessage(err) }, "gpio interrupt error");
      return;
    }
    this.report(w, value === 1, false);
  }

  private poll(): void {
    for (const w of this.lines) {
      const level = this.read(w);
      if (level === undefined || level === w.active || w.confirm !== undefined) continue;
      // An edge may be on its way through onoff's debounce: look again once it has had its time.
      w.confirm = setTimeout(() => {
        w.confirm = undefined;
        const again = this.running ? this.read(w) : undefined;
        if (again !== undefined && again !== w.active) this.report(w, again, true);
      }, this.options.debounceMs + CONFIRM_SLACK_MS);
    }
  }

  private read(w: Watched): boolean | undefined {
    try {
      const level = w.gpio.readSync() === 1;
      this.pollFailing = false;
      return level;
    } catch (err) {
      if (!this.pollFailing) this.deps.log.warn({ line: w.line, err: errorMessage(err) }, "gpio level poll failed");
      this.pollFailing = true;
      return undefined;
    }
  }

  private report(w: Watched, active: boolean, polled: boolean): void {
    if (!this.running || active === w.active) return;
    w.active = active;
    clearTimeout(w.confirm);
    w.confirm = undefined;
    const at = this.deps.clock.now();
    if (polled) this.deps.log.warn({ line: w.line, role: w.role, active }, "gpio edge missed: recovered by the level poll");
    if (w.role === "tamper") this.emit("tamper", { at, open: !active });
    else this.emit(active ? "press" : "release", { at });
  }
}

/** The real adapter: a GpioButton on onoff, which is loaded only here. */
export async function createGpioButton(config: GpioButtonConfig, deps: Omit<GpioDeps, "Gpio">): Promise<GpioButton> {
  let Gpio: GpioClass;
  try {
    Gpio = await loadOnoffGpio();
  } catch (err) {
    throw new SosError(ErrorCode.ConfigInvalid, `button driver "gpio" cannot load onoff (${errorMessage(err)}); reinstall the agent's dependencies (npm ci) or use the "gpiod" driver`, { cause: err });
  }
  return new GpioButton(config, { ...deps, Gpio });
}

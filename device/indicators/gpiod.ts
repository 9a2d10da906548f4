/**
 * Yellow and green lights and an optional buzzer held by libgpiod 1.6's `gpioset` (Debian package
 * gpiod), kept running by the Supervisor. The command lines (see device/gpio/gpiod-tools.ts):
 *
 *   gpioset --mode=signal [-l] <chip> <yellow>=<0|1> <green>=<0|1> [<buzzer>=<0|1>]
 *   gpioset --mode=exit [-l] <chip> <yellow>=0 <green>=0 [<buzzer>=0]        (once, at stop)
 *
 * gpioset can only hold the values it was started with, so a change of level (a new pattern, each
 * blink half-period, a beep) replaces the running gpioset at once (Supervisor.respawn: SIGTERM,
 * then a new one with the new values, outside the crash backoff). A gpioset that dies on its own is
 * restarted with backoff with the current values. Chip "auto" is resolved from gpiodetect's output.
 * A missing tool (ENOENT) is logged once and retried with backoff; nothing here throws for
 * hardware. stop() ends gpioset and sets every line to 0 with a last `--mode=exit` run.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { Backoff, defaultBackoff, type BackoffPolicy } from "../../shared/backoff.js";
import type { IndicatorConfig } from "../../shared/config/kiosk.js";
import { errorMessage } from "../../shared/errors.js";
import { MissingToolReport, gpiosetArgs, isMissingTool, resolveGpiodChip } from "../gpio/gpiod-tools.js";
import { Supervisor } from "../lib/supervisor.js";
import type { Indicator, LightPattern } from "./indicator.js";
import { SoftwareLights, type Level } from "./software-lights.js";

export type GpiodIndicatorConfig = Extract<IndicatorConfig, { driver: "gpiod" }>;

export interface GpiodIndicatorOptions extends Omit<GpiodIndicatorConfig, "driver"> {
  /** Delays between restarts of a failing gpioset and between attempts to find the chip. */
  readonly restart?: BackoffPolicy;
  /** Grace for gpioset to exit on SIGTERM before SIGKILL, and for the last run at stop. */
  readonly stopTimeoutMs?: number;
}

export interface GpiodIndicatorDeps {
  readonly log: Logger;
}

type Values = (readonly [number, Level])[];

export class GpiodIndicator implements Indicator {
  readonly driver = "gpiod";
  private running = false;
  private generation = 0;
  private chip: string | undefined;
  private supervisor: Supervisor | undefined;
  /** The values the newest gpioset was started with. */
  private held = "";
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly lights = new SoftwareLights(() => this.render());
  private readonly gpiosetMissing: MissingToolReport;
  private readonly gpiodetectMissing: MissingToolReport;
  private readonly log: Logger;

  constructor(
    private readonly options: GpiodIndicatorOptions,
    deps: GpiodIndicatorDeps,
  ) {
    this.log = deps.log;
    this.backoff = new Backoff(options.restart ?? defaultBackoff);
    this.gpiosetMissing = new MissingToolReport(deps.log, "gpioset", options.gpioset, "indicator.gpioset");
    this.gpiodetectMissing = new MissingToolReport(deps.log, "gpiodetect", options.gpiodetect, "indicator.gpiodetect");
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.lights.start();
    await this.connect();
  }

  show(pattern: LightPattern): void {
    this.lights.show(pattern);
  }

  beep(durationMs: number): void {
    if (this.options.buzzerLine !== undefined) this.lights.beep(durationMs);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.lights.stop();
    const supervisor = this.supervisor;
    this.supervisor = undefined;
    await supervisor?.stop();
    if (this.chip !== undefined) await this.allOff(this.chip);
  }

  private values(): Values {
    const levels = this.lights.levels();
    const { yellowLine, greenLine, buzzerLine } = this.options;
    const values: Values = [
      [yellowLine, levels.yellow],
      [greenLine, levels.green],
    ];
    if (buzzerLine !== undefined) values.push([buzzerLine, levels.buzzer]);
    return values;
  }

  private render(): void {
    if (this.supervisor === undefined || JSON.stringify(this.values()) === this.held) return;
    this.supervisor.respawn(); // no gpioset up (backoff): the next one starts with the new values
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    let chip: string;
    try {
      chip = await resolveGpiodChip(this.options.chip, this.options.gpiodetect);
    } catch (err) {
      if (!this.running || generation !== this.generation) return;
      const retryInMs = this.backoff.next();
      if (isMissingTool(err)) this.gpiodetectMissing.missing(retryInMs);
      else this.log.error({ err: errorMessage(err), code: (err as { code?: unknown }).code, retryInMs }, "gpiod indicator cannot find its GPIO chip: retrying");
      this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
      return;
    }
    if (!this.running || generation !== this.generation) return;
    this.gpiodetectMissing.found();
    this.chip = chip;
    const { gpioset, activeLow } = this.options;
    this.log.info({ command: [gpioset, ...gpiosetArgs("signal", chip, activeLow, this.values())] }, "starting gpioset");
    const supervisor = new Supervisor(
      () => {
        const values = this.values();
        this.held = JSON.stringify(values);
        return spawn(gpioset, gpiosetArgs("signal", chip, activeLow, values), { stdio: ["ignore", "ignore", "pipe"] });
      },
      { name: "gpioset", restart: this.options.restart ?? defaultBackoff, stopTimeoutMs: this.options.stopTimeoutMs },
      this.log,
    );
    supervisor.on("spawn", (child) => this.attach(child));
    this.supervisor = supervisor;
    supervisor.start();
  }

  private attach(child: ChildProcess): void {
    child.once("spawn", () => this.gpiosetMissing.found());
    child.once("error", (err) => {
      if (isMissingTool(err)) this.gpiosetMissing.missing();
    });
    if (child.stderr !== null) createInterface({ input: child.stderr }).on("line", (text) => this.log.warn({ stderr: text.slice(0, 500), pid: child.pid }, "gpioset error output"));
  }

  private allOff(chip: string): Promise<void> {
    const { gpioset, activeLow } = this.options;
    const off = this.values().map(([line]) => [line, 0] as const);
    return new Promise((resolve) => {
      execFile(gpioset, gpiosetArgs("exit", chip, activeLow, off), { timeout: this.options.stopTimeoutMs ?? 2_000 }, (err) => {
        if (err) this.log.warn({ err: errorMessage(err), code: (err as { code?: unknown }).code }, "gpioset could not turn the lights off at stop");
        resolve();
      });
    });
  }
}

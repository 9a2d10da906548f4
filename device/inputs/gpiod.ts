/**
 * A button (and optional tamper switch) read by libgpiod 1.6's `gpiomon` (Debian package gpiod),
 * kept running by the Supervisor. The command line (see device/gpio/gpiod-tools.ts):
 *
 *   gpiomon -b [-l] -B <bias> -F '%o %e %s %n' <chip> <line> [<tamperLine>]
 *
 * -b line-buffers its stdout (else edges arrive in 4 KiB bursts); -l (activeLow) makes a fall to
 * 0 V a rising edge, i.e. `%e` is 1 when the contact closes; -B sets the pull (default pull-up).
 * Each output line is "<offset> <1|0> <sec> <nsec>": 1 on the button is `press`, 0 `release`; on the
 * tamper line 0 is `tamper {open: true}` (the switch is wired like the button and closed while the
 * case is shut). Repeated levels are dropped; after a restart the level is unknown, so the first
 * edge is always reported (a stray release is harmless to the press rules). Edges while gpiomon is
 * down are not seen. Chip "auto" is resolved once per start from gpiodetect's output.
 *
 * Failures (missing tools, no chip, gpiomon exiting) are retried every few hundred ms (BUTTON_RETRY):
 * the button must work as soon as its chip does. Only the first failure of a streak is logged (the
 * retries at debug), and the recovery once gpiomon has stayed up healthyAfterMs (default 1 s).
 * start() never throws for them; `error` is emitted once per failing streak.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import type { ButtonConfig } from "../../shared/config/kiosk.js";
import { errorMessage } from "../../shared/errors.js";
import { MissingToolReport, gpiomonArgs, isMissingTool, parseGpiomonLine, resolveGpiodChip } from "../gpio/gpiod-tools.js";
import { Supervisor } from "../lib/supervisor.js";
import { BUTTON_RETRY, type ButtonEvents, type ButtonInput, type CircuitReading } from "./button.js";

export type GpiodButtonConfig = Extract<ButtonConfig, { driver: "gpiod" }>;

export interface GpiodButtonOptions extends Omit<GpiodButtonConfig, "driver"> {
  /** Delays between restarts of gpiomon and between attempts to find the chip. */
  readonly restart?: BackoffPolicy;
  /** A gpiomon that stayed up this long ends a failing streak (and resets the backoff). Default 1 s. */
  readonly healthyAfterMs?: number;
}

export interface GpiodButtonDeps {
  readonly clock: Clock;
  readonly log: Logger;
}

type Level = "active" | "inactive" | "unknown";

export class GpiodButton extends EventEmitter<ButtonEvents> implements ButtonInput {
  readonly driver = "gpiod";
  private running = false;
  private generation = 0;
  private supervisor: Supervisor | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly levels = new Map<number, Level>();
  private failing = false;
  private readonly gpiomonMissing: MissingToolReport;
  private readonly gpiodetectMissing: MissingToolReport;

  constructor(
    private readonly options: GpiodButtonOptions,
    private readonly deps: GpiodButtonDeps,
  ) {
    super();
    this.backoff = new Backoff(options.restart ?? BUTTON_RETRY);
    this.gpiomonMissing = new MissingToolReport(deps.log, "gpiomon", options.gpiomon, "button.gpiomon");
    this.gpiodetectMissing = new MissingToolReport(deps.log, "gpiodetect", options.gpiodetect, "button.gpiodetect");
  }

  /** The running gpiomon's pid (diagnostics, tests). */
  get gpiomonPid(): number | undefined {
    return this.supervisor?.current?.pid;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    const supervisor = this.supervisor;
    this.supervisor = undefined;
    await supervisor?.stop();
  }

  /**
   * The button line as gpiomon last reported it (the self-test). gpiomon holds the line, so it is not
   * read again: "unknown" since gpiomon's start with no edge seen counts as idle (a line held at
   * gpiomon's start gives no edge; the gpio driver reads that case, this one cannot).
   */
  circuit(): Promise<CircuitReading> {
    const child = this.supervisor?.current;
    if (child === undefined || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve({ state: "unavailable", reason: `gpiomon is not running for line ${this.options.line} (see the gpiod errors in the log)` });
    }
    return Promise.resolve({ state: this.levels.get(this.options.line) === "active" ? "active" : "idle" });
  }

  private async connect(): Promise<void> {
    const { log } = this.deps;
    const generation = this.generation;
    let chip: string;
    try {
      chip = await resolveGpiodChip(this.options.chip, this.options.gpiodetect);
    } catch (err) {
      if (!this.running || generation !== this.generation) return;
      const retryInMs = this.backoff.next();
      if (isMissingTool(err)) this.gpiodetectMissing.missing(retryInMs);
      else log[this.failing ? "debug" : "error"]({ err: errorMessage(err), code: (err as { code?: unknown }).code, retryInMs }, "gpiod button cannot find its GPIO chip: retrying");
      this.raise(err);
      this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
      return;
    }
    if (!this.running || generation !== this.generation) return;
    this.gpiodetectMissing.found();
    this.backoff.reset();
    const { line, tamperLine, activeLow, bias, gpiomon } = this.options;
    const args = gpiomonArgs({ chip, lines: tamperLine === undefined ? [line] : [line, tamperLine], activeLow, bias });
    log.info({ command: [gpiomon, ...args], line, tamperLine }, "starting gpiomon");
    const supervisor = new Supervisor(
      () => spawn(gpiomon, args, { stdio: ["ignore", "pipe", "pipe"] }),
      { name: "gpiomon", restart: this.options.restart ?? BUTTON_RETRY, healthyAfterMs: this.healthyAfterMs, quietRetries: true },
      log,
    );
    supervisor.on("spawn", (child) => this.attach(child));
    supervisor.on("exit", ({ code, signal, restartInMs }) => {
      if (restartInMs !== null && (code !== null || signal !== null)) this.raise(new Error(`gpiomon exited (code ${code}, signal ${signal}); restarting in ${restartInMs} ms`));
    });
    this.supervisor = supervisor;
    supervisor.start();
  }

  private attach(child: ChildProcess): void {
    const { log } = this.deps;
    this.levels.clear(); // whatever happened while no gpiomon watched is unknown
    // A gpiomon that stays up ends a failing streak: the next failure emits `error` again.
    const healthy = setTimeout(() => this.recovered(child), this.healthyAfterMs);
    child.once("exit", () => clearTimeout(healthy));
    child.once("spawn", () => this.gpiomonMissing.found());
    child.once("error", (err) => {
      clearTimeout(healthy);
      if (!isMissingTool(err)) return; // the supervisor logs it
      this.gpiomonMissing.missing();
      this.raise(err);
    });
    if (child.stdout !== null) createInterface({ input: child.stdout }).on("line", (text) => this.onLine(text));
    // A gpiomon retried twice a second says the same each time: only the first of a streak is a warning.
    if (child.stderr !== null) createInterface({ input: child.stderr }).on("line", (text) => log[this.failing ? "debug" : "warn"]({ stderr: text.slice(0, 500), pid: child.pid }, "gpiomon error output"));
  }

  private onLine(text: string): void {
    if (!this.running) return;
    const event = parseGpiomonLine(text);
    if (event === undefined) {
      this.deps.log.warn({ output: text.slice(0, 200) }, "unexpected gpiomon output ignored");
      return;
    }
    this.endStreak();
    const level: Level = event.rising ? "active" : "inactive";
    if (this.levels.get(event.offset) === level) return;
    this.levels.set(event.offset, level);
    const at = this.deps.clock.now();
    this.deps.log.debug({ line: event.offset, rising: event.rising, sec: event.sec, nsec: event.nsec }, "gpio edge");
    if (event.offset === this.options.line) this.emit(event.rising ? "press" : "release", { at });
    else if (event.offset === this.options.tamperLine) this.emit("tamper", { at, open: !event.rising });
  }

  private get healthyAfterMs(): number {
    return this.options.healthyAfterMs ?? 1_000;
  }

  /** gpiomon has stayed up: a failing streak is over. */
  private recovered(child: ChildProcess): void {
    if (this.running && this.supervisor?.current === child) this.endStreak();
  }

  /** Ends a failing streak, saying so once. */
  private endStreak(): void {
    if (!this.failing) return;
    this.failing = false;
    this.deps.log.info({ pid: this.gpiomonPid }, "gpiod button working again: gpiomon is watching the line");
    this.emit("recovered");
  }

  /** Emits `error` once per failing streak, and only to a listener (an unheard `error` would throw). */
  private raise(err: unknown): void {
    if (this.failing || !this.running) return;
    this.failing = true;
    if (this.listenerCount("error") > 0) this.emit("error", err instanceof Error ? err : new Error(errorMessage(err)));
  }
}

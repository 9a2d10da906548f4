/**
 * A microcontroller running StandardFirmata over USB, with the SOS button, an optional tamper
 * switch, the LEDs and an optional buzzer: both the ButtonInput and the Indicator (start/stop
 * are counted, so the composition root may start and stop it once per role).
 *
 * johnny-five cannot reconnect or be destroyed (rwaldron/johnny-five#649, #1790), so the board
 * lives in a child process (child.ts) forked through the Supervisor, which starts a fresh one
 * after a backoff whenever it ends (board unplugged, wrong firmware, crash). After each start the
 * current light pattern is sent again. This module never loads johnny-five itself.
 */
import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { BackoffPolicy } from "../../../shared/backoff.js";
import { type Clock, systemClock } from "../../../shared/clock.js";
import type { ButtonConfig, IndicatorConfig } from "../../../shared/config/kiosk.js";
import type { LogLevel } from "../../../shared/log.js";
import { BLINK_HALF_PERIOD_MS, type Indicator, type LightPattern } from "../../indicators/indicator.js";
import { Supervisor } from "../../lib/supervisor.js";
import type { ButtonEvents, ButtonInput } from "../button.js";
import { type ChildMessage, childMessageSchema, type FirmataChildConfig, type ParentMessage } from "./ipc.js";

/** The compiled child next to this file (dist/device/inputs/firmata/child.js in production). */
export const DEFAULT_FIRMATA_ENTRY = fileURLToPath(new URL("./child.js", import.meta.url));
export const DEFAULT_FIRMATA_RESTART: BackoffPolicy = { minMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export interface FirmataPanelOptions {
  readonly button: Omit<Extract<ButtonConfig, { driver: "firmata" }>, "driver">;
  /** The LEDs when they are on this board too (indicator.driver "firmata"). */
  readonly lights?: Omit<Extract<IndicatorConfig, { driver: "firmata" }>, "driver">;
  readonly log: Logger;
  readonly logLevel?: LogLevel;
  readonly holdtimeMs?: number;
  readonly restart?: BackoffPolicy;
  /** connect → ready on the board (StandardFirmata answers ~2 s after the USB reset). */
  readonly readyTimeoutMs?: number;
  /** The child entry; tests pass a fake that speaks the same IPC. */
  readonly entry?: string;
  readonly execArgv?: readonly string[];
  /** Added to the child's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
}

/** Time for a forked child to load its modules, on top of the board's own ready timeout. */
const SPAWN_ALLOWANCE_MS = 15_000;
/** A beep asked for while the board was not ready still sounds if it becomes ready this soon. */
const BEEP_FRESH_MS = 2_000;

export class FirmataPanel extends EventEmitter<ButtonEvents> implements ButtonInput, Indicator {
  readonly driver = "firmata";
  /** Restarts the board process; its `spawn`/`exit` events and `restarts` count are for health checks. */
  readonly supervisor: Supervisor;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly readyTimeoutMs: number;
  private users = 0;
  private running = false;
  private child: ChildProcess | undefined;
  private ready = false;
  private readyTimer: NodeJS.Timeout | undefined;
  private childReportedError = false;
  private outageReported = false;
  private lights: LightPattern = { yellow: "off", green: "off" };
  private buttonDown = false;
  private tamperOpen: boolean | undefined;
  private firmwareName: string | undefined;
  private pendingBeep: { durationMs: number; askedAt: number } | undefined;

  constructor(options: FirmataPanelOptions) {
    super();
    this.log = options.log.child({ driver: "firmata", path: options.button.path });
    this.clock = options.clock ?? systemClock;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    const { lights } = options;
    const config: FirmataChildConfig = {
      path: options.button.path,
      baudRate: options.button.baudRate,
      button: { pin: options.button.pin, pullup: options.button.pullup, holdtimeMs: options.holdtimeMs ?? 500 },
      tamperPin: options.button.tamperPin,
      lights: lights === undefined ? undefined : { yellowPin: lights.yellowPin, greenPin: lights.greenPin, buzzerPin: lights.buzzerPin },
      blinkHalfPeriodMs: BLINK_HALF_PERIOD_MS,
      readyTimeoutMs: this.readyTimeoutMs,
      logLevel: options.logLevel ?? "info",
    };
    const entry = options.entry ?? DEFAULT_FIRMATA_ENTRY;
    const spawn = (): ChildProcess =>
      fork(entry, [JSON.stringify(config)], {
        execArgv: [...(options.execArgv ?? [])],
        env: { ...process.env, ...options.env },
        // stdout/stderr go where ours go (journald); the child logs JSON lines with pino.
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
    this.supervisor = new Supervisor(spawn, { name: "firmata", restart: options.restart ?? DEFAULT_FIRMATA_RESTART }, this.log);
    this.supervisor.on("spawn", (child) => this.attach(child));
    this.supervisor.on("exit", ({ code, signal }) => this.detach(code, signal));
  }

  /** The board answered and its components are wired. */
  get isReady(): boolean {
    return this.ready;
  }

  get firmware(): string | undefined {
    return this.firmwareName;
  }

  /** Starts the board process and returns: the board is ready some seconds later (see isReady). */
  start(): Promise<void> {
    this.users += 1;
    if (this.running) return Promise.resolve();
    this.running = true;
    this.supervisor.start();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.users > 0) this.users -= 1;
    if (this.users > 0 || !this.running) return;
    this.running = false;
    this.ready = false;
    this.buttonDown = false;
    clearTimeout(this.readyTimer);
    // SIGTERM: the child switches the lights off and closes the port before it exits.
    await this.supervisor.stop();
  }

  show(pattern: LightPattern): void {
    this.lights = { yellow: pattern.yellow, green: pattern.green };
    this.send({ type: "lights", ...this.lights });
  }

  /** Before the board is ready the beep waits, and sounds at ready if it is still fresh. */
  beep(durationMs: number): void {
    const ms = Math.max(1, Math.min(10_000, Math.round(durationMs)));
    if (this.ready) this.send({ type: "beep", durationMs: ms });
    else this.pendingBeep = { durationMs: ms, askedAt: Date.now() };
  }

  private attach(child: ChildProcess): void {
    this.child = child;
    this.ready = false;
    this.childReportedError = false;
    child.on("message", (raw: unknown) => this.onMessage(child, raw));
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => {
      if (this.child !== child || this.ready) return;
      this.log.warn({ pid: child.pid }, "firmata board process not ready in time: restarting it");
      this.supervisor.restart();
    }, this.readyTimeoutMs + SPAWN_ALLOWANCE_MS);
  }

  private detach(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = undefined;
    this.ready = false;
    clearTimeout(this.readyTimer);
    if (this.buttonDown && this.running) {
      // A release from a vanished board never comes: a phantom 30 s hold would be a bypass alarm.
      this.buttonDown = false;
      this.log.warn("board lost while the button was down: release assumed");
      this.emit("release", { at: this.clock.now() });
    }
    if (this.running && !this.childReportedError) this.reportOutage(new Error(`firmata board process exited (code ${code}, signal ${signal})`));
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.child || !this.running) return;
    const parsed = childMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ issues: parsed.error.issues.map((i) => i.message) }, "invalid message from the firmata board process ignored");
      return;
    }
    this.handle(parsed.data);
  }

  private handle(message: ChildMessage): void {
    const at = this.clock.now();
    switch (message.type) {
      case "ready":
        this.ready = true;
        if (this.outageReported) this.emit("recovered");
        this.outageReported = false;
        this.firmwareName = message.firmware;
        clearTimeout(this.readyTimer);
        this.log.info({ firmware: message.firmware, restarts: this.supervisor.restarts }, "firmata board ready");
        this.send({ type: "lights", ...this.lights });
        if (this.pendingBeep !== undefined && Date.now() - this.pendingBeep.askedAt <= BEEP_FRESH_MS) {
          this.send({ type: "beep", durationMs: this.pendingBeep.durationMs });
        }
        this.pendingBeep = undefined;
        return;
      case "press":
        if (this.buttonDown) return;
        this.buttonDown = true;
        this.emit("press", { at });
        return;
      case "release":
        if (!this.buttonDown) return;
        this.buttonDown = false;
        this.emit("release", { at });
        return;
      case "tamper":
        if (this.tamperOpen === message.open) return;
        this.tamperOpen = message.open;
        this.log.info({ open: message.open }, "tamper switch");
        this.emit("tamper", { at, open: message.open });
        return;
      case "error":
        this.childReportedError = true;
        this.reportOutage(Object.assign(new Error(message.message), { code: message.code }));
        return;
    }
  }

  /** One warn and one `error` event per outage (until the board is ready again); retries at debug. */
  private reportOutage(err: Error): void {
    const fields = { err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, restarts: this.supervisor.restarts };
    if (this.outageReported) {
      this.log.debug(fields, "firmata board still unavailable");
      return;
    }
    this.outageReported = true;
    this.log.warn(fields, "firmata board unavailable");
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  private send(message: ParentMessage): void {
    const child = this.child;
    if (child === undefined || !this.ready || !child.connected) return;
    child.send(message, (err) => {
      if (err) this.log.debug({ err: { message: err.message }, type: message.type }, "message to the firmata board process lost");
    });
  }
}

/**
 * The serial button panel: one USB-serial device with the SOS button, the tamper switch, the power
 * monitor, both LEDs and the buzzer, spoken to in the line protocol of docs/serial-panel-protocol.md.
 * One object is both the ButtonInput and the Indicator; start() and stop() are counted, so the
 * composition root may start and stop it once per role.
 *
 * serialport has no auto-reconnect (serialport/node-serialport#648): when the device disappears
 * (read error → close, or an error) or cannot be opened, the port is dropped and a fresh one opened
 * within half a second (BUTTON_RETRY). A panel that answers nothing for one PING interval is treated the same.
 * Every (re)connect and every HELLO re-sends the current LED state.
 */
import { EventEmitter } from "node:events";
import { SerialPortStream } from "@serialport/stream";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../../shared/backoff.js";
import { type Clock, systemClock } from "../../shared/clock.js";
import type { Indicator, LightPattern } from "../indicators/indicator.js";
import { BUTTON_RETRY, type ButtonEvents, type ButtonInput } from "./button.js";
import { serialOpenError } from "./serial-open-error.js";
import { formatPanelCommand, type PanelCommand, PanelLineReader, type PanelMessage, parsePanelLine } from "./serial-panel-protocol.js";

/** The serialport binding (hardware access); tests pass MockBinding from @serialport/binding-mock. */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]["binding"];

export interface SerialPanelOptions {
  /** Prefer /dev/serial/by-id/…: it names the device, not the order it was enumerated in. */
  readonly path: string;
  readonly baudRate: number;
  readonly log: Logger;
  /** Defaults to serialport's native binding, loaded on first start. */
  readonly binding?: SerialBinding;
  readonly reopen?: BackoffPolicy;
  /** A PING this often; no answer before the next one = disconnected. 0 turns it off. */
  readonly pingIntervalMs?: number;
  readonly clock?: Clock;
}

/** A replugged panel is reopened within half a second: an open() of a missing tty costs nothing. */
export const DEFAULT_PANEL_REOPEN: BackoffPolicy = BUTTON_RETRY;
export const DEFAULT_PANEL_PING_MS = 5_000;
const UNKNOWN_LINES_LOGGED = 5;
const STOP_FLUSH_MS = 500;

export class SerialPanel extends EventEmitter<ButtonEvents> implements ButtonInput, Indicator {
  readonly driver = "serial";
  private binding: SerialBinding | undefined;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly log: Logger;
  private users = 0;
  private running = false;
  private port: SerialPortStream | undefined;
  private opening: Promise<void> | undefined;
  private connected = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private heardSincePing = false;
  /** An outage is reported once (error event + warn), its retries at debug. */
  private outageReported = false;
  private unknownLines = 0;
  private lights: LightPattern = { yellow: "off", green: "off" };
  private sentLights: LightPattern | undefined;
  private buttonDown = false;
  private tamperOpen: boolean | undefined;
  private lastPower: string | undefined;
  private firmwareName: string | undefined;

  constructor(private readonly options: SerialPanelOptions) {
    super();
    this.binding = options.binding;
    this.backoff = new Backoff(options.reopen ?? DEFAULT_PANEL_REOPEN);
    this.clock = options.clock ?? systemClock;
    this.log = options.log.child({ driver: "serial", path: options.path });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** What the panel said in its last HELLO. */
  get firmware(): string | undefined {
    return this.firmwareName;
  }

  /** Resolves after the first open attempt, whatever its outcome: a missing panel is retried. */
  async start(): Promise<void> {
    this.users += 1;
    if (this.running) return;
    this.running = true;
    this.binding ??= (await import("serialport")).SerialPort.binding;
    if (this.running && this.port === undefined) await this.open();
  }

  async stop(): Promise<void> {
    if (this.users > 0) this.users -= 1;
    if (this.users > 0 || !this.running) return;
    this.running = false;
    clearTimeout(this.reopenTimer);
    this.stopPing();
    await this.opening;
    const port = this.port;
    this.port = undefined;
    this.connected = false;
    if (port === undefined) return;
    // Lights off: a stopped agent must not leave "alarm registered" showing.
    if (port.isOpen) for (const light of ["yellow", "green"] as const) port.write(formatPanelCommand({ kind: "led", light, mode: "off" }));
    await this.release(port, true);
    this.log.info("serial panel closed");
  }

  show(pattern: LightPattern): void {
    this.lights = { yellow: pattern.yellow, green: pattern.green };
    this.sendLights();
  }

  beep(durationMs: number): void {
    if (!this.connected) {
      this.log.debug({ durationMs }, "beep dropped: panel not connected");
      return;
    }
    this.send({ kind: "beep", durationMs });
  }

  private open(): Promise<void> {
    const binding = this.binding;
    if (binding === undefined) return Promise.resolve();
    const port = new SerialPortStream({ binding, path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    this.port = port;
    const reader = new PanelLineReader(
      (line) => this.onLine(port, line),
      (bytes) => this.log.warn({ bytes }, "panel line too long: dropped (wrong baud rate?)"),
    );
    port.on("data", (chunk: Buffer) => {
      if (port === this.port) reader.push(chunk);
    });
    port.on("close", (err: Error | null) => this.lost(port, err ?? new Error("serial port closed")));
    port.on("error", (err: Error) => this.lost(port, err));
    const opening = new Promise<void>((resolve) => {
      port.open((err) => {
        if (err) this.openFailed(port, err);
        else this.opened(port);
        resolve();
      });
    });
    this.opening = opening;
    void opening.finally(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    return opening;
  }

  private opened(port: SerialPortStream): void {
    if (port !== this.port || !this.running) {
      void this.release(port, true);
      return;
    }
    this.connected = true;
    const recovered = this.outageReported;
    this.outageReported = false;
    this.unknownLines = 0;
    this.backoff.reset();
    this.log.info({ baudRate: this.options.baudRate }, "serial panel connected");
    this.sentLights = undefined;
    this.sendLights();
    this.startPing();
    if (recovered) this.emit("recovered");
  }

  private openFailed(port: SerialPortStream, err: Error): void {
    if (port !== this.port) return;
    this.port = undefined;
    void this.release(port, false);
    const problem = serialOpenError(err, this.options.path);
    this.reportOutage(problem, problem.message);
    this.scheduleReopen();
  }

  /** The device went away (close, error, silence): drop this port and open a fresh one later. */
  private lost(port: SerialPortStream, err: Error): void {
    if (port !== this.port) return;
    this.port = undefined;
    this.connected = false;
    this.stopPing();
    void this.release(port, true);
    if (this.buttonDown) {
      // The release may never come from a vanished panel: a phantom 30 s hold would be a bypass alarm.
      this.buttonDown = false;
      this.log.warn("panel lost while the button was down: release assumed");
      this.emit("release", { at: this.clock.now() });
    }
    if (!this.running) return;
    this.reportOutage(err, "serial panel lost");
    this.scheduleReopen();
  }

  private reportOutage(err: Error, msg: string): void {
    // An open failure explained (serial-open-error.ts) keeps the binding's own words under err.
    const said = err.cause instanceof Error ? err.cause : err;
    const fields = { err: { message: said.message, code: (err as NodeJS.ErrnoException).code }, attempt: this.backoff.attempts + 1 };
    if (this.outageReported) {
      this.log.debug(fields, msg);
      return;
    }
    this.outageReported = true;
    this.log.warn(fields, msg);
    // ButtonInput: a hardware fault is an `error` event, never a crash of a process with no listener.
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  private scheduleReopen(): void {
    if (!this.running) return;
    clearTimeout(this.reopenTimer);
    const delayMs = this.backoff.next();
    this.log.debug({ delayMs, attempt: this.backoff.attempts }, "serial panel reopen scheduled");
    this.reopenTimer = setTimeout(() => {
      if (this.running && this.port === undefined) void this.open();
    }, delayMs);
  }

  /** Detaches our handlers from a port we no longer use and closes it if it is open. */
  private async release(port: SerialPortStream, close: boolean): Promise<void> {
    port.removeAllListeners("data");
    port.removeAllListeners("close");
    port.removeAllListeners("error");
    port.on("error", (err: Error) => this.log.debug({ err: { message: err.message } }, "error on a released serial port"));
    if (!close || !port.isOpen) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_FLUSH_MS);
      port.drain(() => port.close(() => (clearTimeout(timer), resolve())));
    });
  }

  private startPing(): void {
    const every = this.options.pingIntervalMs ?? DEFAULT_PANEL_PING_MS;
    if (every <= 0) return;
    this.heardSincePing = false;
    this.send({ kind: "ping" });
    this.pingTimer = setInterval(() => {
      const port = this.port;
      if (port === undefined || !this.connected) return;
      if (!this.heardSincePing) {
        this.lost(port, new Error(`no answer from the panel within ${every} ms`));
        return;
      }
      this.heardSincePing = false;
      this.send({ kind: "ping" });
    }, every);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private sendLights(): void {
    if (!this.connected) return;
    for (const light of ["yellow", "green"] as const) {
      if (this.sentLights?.[light] !== this.lights[light]) this.send({ kind: "led", light, mode: this.lights[light] });
    }
    this.sentLights = this.lights;
  }

  private send(command: PanelCommand): void {
    const port = this.port;
    if (port === undefined || !this.connected) return;
    // A failed write also surfaces as the port's error/close event, which reopens it.
    port.write(formatPanelCommand(command), (err) => {
      if (err) this.log.debug({ err: { message: err.message }, command: command.kind }, "serial write failed");
    });
  }

  private onLine(port: SerialPortStream, raw: string): void {
    if (port !== this.port || !this.running) return;
    const parsed = parsePanelLine(raw);
    if (parsed.kind === "unknown") {
      this.unknownLines += 1;
      if (this.unknownLines <= UNKNOWN_LINES_LOGGED || this.unknownLines % 100 === 0) {
        this.log.warn({ panelLine: raw.slice(0, 80), reason: parsed.reason, unknownLines: this.unknownLines }, "unknown panel line ignored");
      }
      return;
    }
    this.heardSincePing = true;
    this.onMessage(parsed);
  }

  private onMessage(message: PanelMessage): void {
    const at = this.clock.now();
    switch (message.kind) {
      case "button":
        if (message.down === this.buttonDown) return; // a repeated line is not a new edge
        this.buttonDown = message.down;
        this.emit(message.down ? "press" : "release", { at });
        return;
      case "tamper":
        if (message.open === this.tamperOpen) return;
        this.tamperOpen = message.open;
        this.log.debug({ open: message.open }, "tamper switch"); // the kiosk logs the change, rate-limited (inputs/sensors.ts)
        this.emit("tamper", { at, open: message.open });
        return;
      case "power": {
        const key = message.source === "battery" ? `battery ${message.batteryPercent}` : "mains";
        if (key === this.lastPower) return;
        this.lastPower = key;
        this.log.debug({ power: key }, "power supply"); // the kiosk logs the change, rate-limited (inputs/sensors.ts)
        this.emit("power", message.source === "battery" ? { at, source: "battery", batteryPercent: message.batteryPercent } : { at, source: "mains" });
        return;
      }
      case "hello":
        this.firmwareName = message.firmware;
        this.log.info({ firmware: message.firmware }, "panel hello");
        // The panel (re)booted: it lost its LED state.
        this.sentLights = undefined;
        this.sendLights();
        return;
      case "pong":
        return;
    }
  }
}

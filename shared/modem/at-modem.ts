/**
 * The real modem driver: AT commands over a serial port (serialport 13), one command at a time,
 * unsolicited result codes (+CMTI, +CMT, NO CARRIER, RING, +CREG) handled between and during
 * commands. Text-mode SMS (AT+CMGF=1, AT+CMGS with its "> " prompt and Ctrl-Z), new messages
 * announced by +CMTI and read with AT+CMGR (then deleted), or pushed whole by +CMT.
 *
 * serialport has no auto-reconnect (serialport/node-serialport#648), and a vanished device is not
 * always seen on read (a pseudo-terminal whose other end closed reads nothing, only writes fail):
 * the driver sends `AT` every pollIntervalMs, and a write error, a close, or two commands in a row
 * without an answer drop the port; a fresh one is opened after the shared backoff.
 */
import { EventEmitter } from "node:events";
import { SerialPortStream } from "@serialport/stream";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../backoff.js";
import { AtCommands, type AtPort } from "./at-commands.js";
import { isRegistered, parseCpin, parseCsq, parseRegistration, simStateOfCme, validNumber, validSmsText } from "./at-protocol.js";
import { ABSENT_STATUS, isModemError, type Modem, ModemError, ModemErrorCode, type ModemEvents, type ModemStatus, type Registration, type SimState, type SmsSent } from "./modem.js";

export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]["binding"];

export interface AtModemOptions {
  /** Prefer /dev/serial/by-id/…-if02-port0 (the AT port of a Quectel/SIMCom module). */
  readonly path: string;
  readonly baudRate: number;
  readonly log: Logger;
  readonly binding?: SerialBinding;
  readonly reopen?: BackoffPolicy;
  /** An `AT` this often proves the device is still there; 0 turns it off. */
  readonly pollIntervalMs?: number;
  /** Ordinary commands. */
  readonly commandTimeoutMs?: number;
  /** AT+CMGS (27.005 allows the network up to a minute). */
  readonly smsTimeoutMs?: number;
  /** ATD… until the modem takes the call. */
  readonly dialTimeoutMs?: number;
}

export const DEFAULT_MODEM_REOPEN: BackoffPolicy = { minMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };
const STOP_FLUSH_MS = 500;
const MISSED_ANSWERS_BEFORE_LOST = 2;

export class AtModem extends EventEmitter<ModemEvents> implements Modem {
  private binding: SerialBinding | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private running = false;
  private port: SerialPortStream | undefined;
  private at: AtCommands | undefined;
  private present = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private missed = 0;
  private outageReported = false;
  private inCall = false;
  private opening: Promise<void> | undefined;

  constructor(private readonly options: AtModemOptions) {
    super();
    this.binding = options.binding;
    this.backoff = new Backoff(options.reopen ?? DEFAULT_MODEM_REOPEN);
    this.log = options.log.child({ driver: "at-modem", path: options.path });
  }

  get isPresent(): boolean {
    return this.present;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.binding ??= (await import("serialport")).SerialPort.binding;
    await this.open();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.reopenTimer);
    clearInterval(this.pollTimer);
    const port = this.port;
    this.drop(new ModemError(ModemErrorCode.Stopped, "modem stopped"));
    await this.opening;
    if (port !== undefined) await release(port, this.log);
    this.log.info("modem closed");
  }

  async status(): Promise<ModemStatus> {
    const at = this.at;
    if (at === undefined || !this.present) return ABSENT_STATUS;
    let sim: SimState = "unknown";
    try {
      const lines = await at.run("AT+CPIN?", { prefix: "+CPIN" });
      sim = lines.map(parseCpin).find((s) => s !== null) ?? "unknown";
    } catch (err) {
      if (isModemError(err, ModemErrorCode.Cme) && typeof err.detail === "number") sim = simStateOfCme(err.detail);
      else if (!isModemError(err, ModemErrorCode.Error)) throw err;
    }
    const registration = await this.registration(at);
    const csqLine = (await at.run("AT+CSQ", { prefix: "+CSQ" })).map(parseCsq).find((c) => c !== null);
    return { present: true, registration, csq: csqLine?.csq ?? null, signalDbm: csqLine?.signalDbm ?? null, sim };
  }

  async sendSms(number: string, text: string): Promise<SmsSent> {
    const invalid = validSmsText(text) ?? (validNumber(number) ? null : `"${number}" is not a phone number`);
    if (invalid !== null) throw new ModemError(ModemErrorCode.TextInvalid, invalid);
    const at = this.ready();
    const registration = await this.registration(at);
    if (!isRegistered(registration)) throw new ModemError(ModemErrorCode.NotRegistered, `not registered on a network (${registration})`, registration);
    const reference = await at.sendSms(number, text, this.options.smsTimeoutMs ?? 60_000);
    this.log.info({ to: number, reference, chars: text.length }, "SMS sent");
    return { reference };
  }

  async dial(number: string): Promise<void> {
    if (!validNumber(number)) throw new ModemError(ModemErrorCode.TextInvalid, `"${number}" is not a phone number`);
    const at = this.ready();
    await at.run(`ATD${number};`, { timeoutMs: this.options.dialTimeoutMs ?? 30_000, call: true });
    this.inCall = true;
    this.log.info({ to: number }, "voice call placed");
  }

  async hangUp(): Promise<void> {
    const at = this.ready();
    this.inCall = false;
    try {
      await at.run("AT+CHUP");
    } catch (err) {
      if (!isModemError(err, ModemErrorCode.Error) && !isModemError(err, ModemErrorCode.Cme)) throw err;
      await at.run("ATH"); // modules without +CHUP
    }
    this.log.info("voice call hung up");
  }

  private ready(): AtCommands {
    if (this.at === undefined || !this.present) throw new ModemError(ModemErrorCode.Absent, "the modem is not connected");
    return this.at;
  }

  /** +CREG (circuit-switched: SMS and voice); +CEREG (LTE) only when +CREG says no. */
  private async registration(at: AtCommands): Promise<Registration> {
    const creg = (await at.run("AT+CREG?", { prefix: "+CREG" })).map((l) => parseRegistration(l, true)).find((r) => r !== null) ?? "unknown";
    if (isRegistered(creg)) return creg;
    try {
      const cereg = (await at.run("AT+CEREG?", { prefix: "+CEREG" })).map((l) => parseRegistration(l, true)).find((r) => r !== null);
      if (cereg !== undefined && isRegistered(cereg)) return cereg;
    } catch (err) {
      if (!isModemError(err, ModemErrorCode.Error) && !isModemError(err, ModemErrorCode.Cme)) throw err; // a 2G/3G module has no +CEREG
    }
    return creg;
  }

  private open(): Promise<void> {
    const binding = this.binding;
    if (binding === undefined || !this.running) return Promise.resolve();
    const port = new SerialPortStream({ binding, path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    this.port = port;
    const atPort: AtPort = { write: (data) => port.write(data, (err) => err && this.lost(port, err)) };
    const at = new AtCommands(atPort, this.log, this.options.commandTimeoutMs ?? 5_000, {
      sms: (sms) => this.emit("sms", sms),
      callEnded: (reason) => {
        if (!this.inCall) return;
        this.inCall = false;
        this.log.info({ reason }, "voice call ended");
        this.emit("call-ended", { reason });
      },
      answered: () => (this.missed = 0),
      timedOut: () => {
        this.missed += 1;
        if (this.missed >= MISSED_ANSWERS_BEFORE_LOST) this.lost(port, new Error(`no answer from the modem to ${this.missed} commands`));
      },
    });
    this.at = at;
    port.on("data", (chunk: Buffer) => port === this.port && at.push(chunk));
    port.on("close", (err: Error | null) => this.lost(port, err ?? new Error("serial port closed")));
    port.on("error", (err: Error) => this.lost(port, err));
    const opening = new Promise<void>((resolve) => {
      port.open((err) => {
        if (port !== this.port) {
          // Stopped (or replaced) while opening: this port is nobody's.
          void release(port, this.log).finally(resolve);
          return;
        }
        if (err) {
          this.lost(port, err);
          resolve();
          return;
        }
        void this.initialise(port, at).finally(resolve);
      });
    });
    this.opening = opening;
    return opening;
  }

  /** Echo off, numeric errors, text mode, new messages announced by +CMTI, ASCII texts. */
  private async initialise(port: SerialPortStream, at: AtCommands): Promise<void> {
    try {
      await at.run("AT", { timeoutMs: 2_000 }).catch(() => at.run("AT", { timeoutMs: 2_000 }));
      await at.run("ATE0");
      await at.run("AT+CMEE=1");
      await at.run("AT+CMGF=1");
      await at.run("AT+CNMI=2,1,0,0,0").catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, "AT+CNMI refused: incoming SMS are not announced"));
      // Texts as ASCII: under "GSM" some modules take raw GSM-7 bytes, where 0x5F ('_' in a kiosk id) is '§'.
      await at.run('AT+CSCS="IRA"').catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, 'AT+CSCS="IRA" refused: SMS texts use the module\'s default character set'));
    } catch (err) {
      this.lost(port, err as Error);
      return;
    }
    if (port !== this.port) return;
    this.present = true;
    this.outageReported = false;
    this.missed = 0;
    this.backoff.reset();
    this.log.info("modem connected");
    this.emit("present");
    // What arrived while nobody listened (the gateway restarting, the device re-plugged).
    void at.readStored().then(
      (count) => count > 0 && this.log.info({ count }, "stored SMS read at connect"),
      (err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, "stored SMS could not be listed"),
    );
    const every = this.options.pollIntervalMs ?? 30_000;
    clearInterval(this.pollTimer);
    if (every > 0) this.pollTimer = setInterval(() => void at.run("AT").catch(() => undefined), every);
  }

  /** The device went away (close, write error, silence): drop this port and open a fresh one later. */
  private lost(port: SerialPortStream, err: Error): void {
    if (port !== this.port) return;
    const wasPresent = this.present;
    this.drop(new ModemError(ModemErrorCode.Absent, `the modem went away: ${err.message}`));
    void release(port, this.log);
    if (!this.running) return;
    const fields = { err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, attempt: this.backoff.attempts + 1 };
    if (this.outageReported) this.log.debug(fields, "modem unavailable");
    else this.log.warn(fields, wasPresent ? "modem lost" : "cannot open the modem");
    this.outageReported = true;
    if (wasPresent) this.emit("lost", { reason: err.message });
    const delayMs = this.backoff.next();
    this.reopenTimer = setTimeout(() => void this.open(), delayMs);
  }

  private drop(reason: ModemError): void {
    clearInterval(this.pollTimer);
    this.at?.failAll(reason);
    this.at = undefined;
    this.port = undefined;
    this.present = false;
    if (this.inCall) {
      this.inCall = false;
      this.emit("call-ended", { reason: "modem lost" });
    }
  }
}

async function release(port: SerialPortStream, log: Logger): Promise<void> {
  port.removeAllListeners("data");
  port.removeAllListeners("close");
  port.removeAllListeners("error");
  port.on("error", (err: Error) => log.debug({ err: { message: err.message } }, "error on a released modem port"));
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_FLUSH_MS);
    port.close(() => (clearTimeout(timer), resolve()));
  });
}

/**
 * One AT conversation on an open port: commands queued and run one at a time, each ended by its
 * final result or a timeout; intermediate lines with the command's prefix are its answer, any
 * other line is an unsolicited result code. New messages (+CMTI) are read (+CMGR) and deleted
 * (+CMGD) through the same queue.
 */
import type { Logger } from "pino";
import { AtReader, finalResult, parseCmglHeader, parseCmgrHeader, parseCmgs, parseCmtHeader, parseCmti } from "./at-protocol.js";
import { type IncomingSms, ModemError, ModemErrorCode } from "./modem.js";

export interface AtPort {
  write(data: string): void;
}

export interface AtHooks {
  sms(sms: IncomingSms): void;
  callEnded(reason: string): void;
  /** A command got its final result. */
  answered(): void;
  /** A command got no final result in time. */
  timedOut(): void;
}

export interface RunOptions {
  /** Lines starting with `${prefix}:` are the answer; "*" takes every non-final line (message texts). */
  readonly prefix?: string;
  readonly timeoutMs?: number;
  /** ATD: NO CARRIER / BUSY / NO ANSWER end this command (otherwise they are unsolicited). */
  readonly call?: boolean;
  /** Written after the "> " prompt, ended by Ctrl-Z (AT+CMGS). */
  readonly body?: string;
}

interface Job {
  readonly command: string;
  readonly options: RunOptions;
  readonly lines: string[];
  readonly resolve: (lines: string[]) => void;
  readonly reject: (err: ModemError) => void;
  timer?: NodeJS.Timeout;
}

const CTRL_Z = "\x1a";
const ESC = "\x1b";
const UNKNOWN_LINES_LOGGED = 5;

export class AtCommands {
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private readonly reader: AtReader;
  /** A +CMT header was seen: the next line is that message's text. */
  private cmtHeader: { from: string; sentAt: string | null } | undefined;
  private unknownLines = 0;
  private closed = false;
  /** Storage indexes being read (announced by +CMTI, or listed): each is handed on once. */
  private readonly claimed = new Set<number>();

  constructor(
    private readonly port: AtPort,
    private readonly log: Logger,
    private readonly defaultTimeoutMs: number,
    private readonly hooks: AtHooks,
  ) {
    this.reader = new AtReader(
      (line) => this.onLine(line),
      () => this.onPrompt(),
      (chars) => this.log.warn({ chars }, "modem line too long: dropped (wrong baud rate?)"),
    );
  }

  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  run(command: string, options: RunOptions = {}): Promise<string[]> {
    if (this.closed) return Promise.reject(new ModemError(ModemErrorCode.Absent, "the modem is not connected"));
    return new Promise<string[]>((resolve, reject) => {
      this.queue.push({ command, options, lines: [], resolve, reject });
      this.next();
    });
  }

  async sendSms(number: string, text: string, timeoutMs: number): Promise<number> {
    const lines = await this.run(`AT+CMGS="${number}"`, { prefix: "+CMGS", body: text, timeoutMs });
    const reference = lines.map(parseCmgs).find((r) => r !== null);
    if (reference === undefined) throw new ModemError(ModemErrorCode.Error, "the modem said OK to AT+CMGS without a message reference");
    return reference;
  }

  /** The port is gone: every queued and running command fails with this reason. */
  failAll(reason: ModemError): void {
    this.closed = true;
    const jobs = [...(this.current === undefined ? [] : [this.current]), ...this.queue.splice(0)];
    this.current = undefined;
    for (const job of jobs) {
      clearTimeout(job.timer);
      job.reject(reason);
    }
  }

  private next(): void {
    if (this.current !== undefined || this.closed) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.current = job;
    const timeoutMs = job.options.timeoutMs ?? this.defaultTimeoutMs;
    job.timer = setTimeout(() => {
      if (this.current !== job) return;
      this.current = undefined;
      // A modem stuck at the SMS prompt takes ESC as "cancel".
      if (job.options.body !== undefined) this.port.write(ESC);
      job.reject(new ModemError(ModemErrorCode.Timeout, `no answer to ${job.command} within ${timeoutMs} ms`));
      this.hooks.timedOut();
      this.next();
    }, timeoutMs);
    this.port.write(`${job.command}\r`);
  }

  private finish(job: Job, error: ModemError | null): void {
    clearTimeout(job.timer);
    this.current = undefined;
    this.hooks.answered();
    if (error === null) job.resolve(job.lines);
    else job.reject(error);
    this.next();
  }

  private onPrompt(): void {
    const job = this.current;
    if (job?.options.body === undefined) return;
    this.port.write(`${job.options.body}${CTRL_Z}`);
  }

  private onLine(line: string): void {
    if (this.cmtHeader !== undefined) {
      const header = this.cmtHeader;
      this.cmtHeader = undefined;
      this.hooks.sms({ from: header.from, text: line, sentAt: header.sentAt });
      return;
    }
    const job = this.current;
    if (job !== undefined && this.forJob(job, line)) return;
    this.unsolicited(line);
  }

  /** Whether the line belongs to the running command (its echo, its answer or its final result). */
  private forJob(job: Job, line: string): boolean {
    if (line === job.command) return true; // echo before ATE0 took effect
    const final = finalResult(line);
    if (final !== null) {
      if (final.kind === "call" && job.options.call !== true) return false; // a call ending during another command
      const error =
        final.kind === "ok"
          ? null
          : final.kind === "cms"
            ? new ModemError(ModemErrorCode.Cms, `${job.command}: +CMS ERROR ${final.code}`, final.code)
            : final.kind === "cme"
              ? new ModemError(ModemErrorCode.Cme, `${job.command}: +CME ERROR ${final.code}`, final.code)
              : final.kind === "call"
                ? new ModemError(ModemErrorCode.CallFailed, `${job.command}: ${final.word}`, final.word)
                : new ModemError(ModemErrorCode.Error, `${job.command}: ERROR`);
      this.finish(job, error);
      return true;
    }
    const prefix = job.options.prefix;
    if (prefix === "*" ? !isUnsolicited(line) : prefix !== undefined && line.startsWith(`${prefix}:`)) {
      job.lines.push(line);
      return true;
    }
    return false;
  }

  private unsolicited(line: string): void {
    const cmti = parseCmti(line);
    if (cmti !== null) {
      void this.readMessage(cmti.index);
      return;
    }
    const cmt = parseCmtHeader(line);
    if (cmt !== null) {
      this.cmtHeader = cmt;
      return;
    }
    const final = finalResult(line);
    if (final?.kind === "call") {
      this.hooks.callEnded(final.word);
      return;
    }
    if (line === "RING" || /^\+C(E|G)?REG:/.test(line) || line.startsWith("+CLIP:") || line === "OK") return;
    this.unknownLines += 1;
    if (this.unknownLines <= UNKNOWN_LINES_LOGGED || this.unknownLines % 100 === 0) {
      this.log.debug({ modemLine: line.slice(0, 80), unknownLines: this.unknownLines }, "unsolicited modem line ignored");
    }
  }

  /**
   * Messages stored while nobody listened (the driver was down, the device re-plugged): listed with
   * AT+CMGL="ALL", handed on, and deleted one by one. Returns how many were read.
   */
  async readStored(): Promise<number> {
    const lines = await this.run('AT+CMGL="ALL"', { prefix: "*" });
    const messages: { index: number; from: string; sentAt: string | null; text: string[] }[] = [];
    for (const line of lines) {
      const header = parseCmglHeader(line);
      if (header !== null) messages.push({ ...header, text: [] });
      else messages.at(-1)?.text.push(line);
    }
    let count = 0;
    for (const m of messages) {
      if (this.claimed.has(m.index)) continue; // announced meanwhile: readMessage hands it on
      this.claimed.add(m.index);
      try {
        await this.run(`AT+CMGD=${m.index}`).catch((err: unknown) => this.log.warn({ index: m.index, err: { message: (err as Error).message } }, "stored SMS not deleted"));
      } finally {
        this.claimed.delete(m.index);
      }
      this.hooks.sms({ from: m.from, text: m.text.join("\n"), sentAt: m.sentAt });
      count += 1;
    }
    return count;
  }

  /** AT+CMGR=<index> (header line, then the text) and AT+CMGD=<index>. */
  private async readMessage(index: number): Promise<void> {
    if (this.claimed.has(index)) return;
    this.claimed.add(index);
    try {
      const lines = await this.run(`AT+CMGR=${index}`, { prefix: "*" });
      const header = lines[0] === undefined ? null : parseCmgrHeader(lines[0]);
      if (header === null) {
        this.log.warn({ index }, "stored SMS unreadable: left on the modem");
        return;
      }
      await this.run(`AT+CMGD=${index}`).catch((err: unknown) => this.log.warn({ index, err: { message: (err as Error).message } }, "stored SMS not deleted"));
      this.hooks.sms({ from: header.from, text: lines.slice(1).join("\n"), sentAt: header.sentAt });
    } catch (err) {
      this.log.warn({ index, err: { message: (err as Error).message } }, "stored SMS could not be read");
    } finally {
      this.claimed.delete(index);
    }
  }
}

function isUnsolicited(line: string): boolean {
  return parseCmti(line) !== null || line === "RING" || line.startsWith("+CMT:");
}

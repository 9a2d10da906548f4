/**
 * The serial panel's line protocol (docs/serial-panel-protocol.md), as pure functions: one ASCII
 * line per message, `\n`-terminated (a `\r` before it is tolerated). Parsing never throws: a line
 * that is not a known message comes back as `unknown` with the reason, for the driver to log.
 */
import { ReadlineParser } from "@serialport/parser-readline";
import type { LightMode } from "../indicators/indicator.js";

/** A line longer than this without `\n` is noise (wrong baud rate, a crashed panel): dropped. */
export const MAX_LINE_BYTES = 256;
/** Longest buzzer sound the kiosk asks for; the panel clamps longer requests to this. */
export const MAX_BEEP_MS = 10_000;

export type PanelMessage =
  | { readonly kind: "button"; readonly down: boolean }
  | { readonly kind: "tamper"; readonly open: boolean }
  | { readonly kind: "power"; readonly source: "mains" }
  | { readonly kind: "power"; readonly source: "battery"; readonly batteryPercent: number }
  | { readonly kind: "hello"; readonly firmware: string }
  | { readonly kind: "pong" };

export type ParsedLine = PanelMessage | { readonly kind: "unknown"; readonly reason: string };

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Parses one panel → kiosk line (without its `\n`). Keywords are matched case-insensitively. */
export function parsePanelLine(raw: string): ParsedLine {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (!PRINTABLE_ASCII.test(line)) return { kind: "unknown", reason: "not printable ASCII" };
  const words = line.trim().split(/\s+/);
  const [head = "", arg, ...rest] = words;
  const verb = head.toUpperCase();
  const value = arg?.toUpperCase();
  switch (verb) {
    case "BTN":
      if (rest.length === 0 && value === "DOWN") return { kind: "button", down: true };
      if (rest.length === 0 && value === "UP") return { kind: "button", down: false };
      return { kind: "unknown", reason: "BTN takes DOWN or UP" };
    case "TAMPER":
      if (rest.length === 0 && value === "OPEN") return { kind: "tamper", open: true };
      if (rest.length === 0 && value === "CLOSED") return { kind: "tamper", open: false };
      return { kind: "unknown", reason: "TAMPER takes OPEN or CLOSED" };
    case "POWER":
      if (rest.length === 0 && value === "MAINS") return { kind: "power", source: "mains" };
      if (value === "BATTERY" && rest.length === 1 && /^\d{1,3}$/.test(rest[0] ?? "")) {
        const percent = Number(rest[0]);
        if (percent <= 100) return { kind: "power", source: "battery", batteryPercent: percent };
      }
      return { kind: "unknown", reason: "POWER takes MAINS or BATTERY <0..100>" };
    case "HELLO": {
      const firmware = line.trim().slice(head.length).trim();
      if (firmware.length === 0 || firmware.length > 64) return { kind: "unknown", reason: "HELLO takes a firmware name of 1..64 characters" };
      return { kind: "hello", firmware };
    }
    case "PONG":
      if (words.length === 1) return { kind: "pong" };
      return { kind: "unknown", reason: "PONG takes no argument" };
    default:
      return { kind: "unknown", reason: "unknown message" };
  }
}

const MODE_WORD: Record<LightMode, string> = { on: "ON", off: "OFF", blink: "BLINK" };

export type PanelCommand =
  | { readonly kind: "led"; readonly light: "yellow" | "green"; readonly mode: LightMode }
  | { readonly kind: "beep"; readonly durationMs: number }
  | { readonly kind: "ping" };

/** Formats one kiosk → panel line, `\n` included. */
export function formatPanelCommand(command: PanelCommand): string {
  switch (command.kind) {
    case "led":
      return `LED ${command.light.toUpperCase()} ${MODE_WORD[command.mode]}\n`;
    case "beep":
      return `BUZZER BEEP ${Math.max(1, Math.min(MAX_BEEP_MS, Math.round(command.durationMs)))}\n`;
    case "ping":
      return "PING\n";
  }
}

/**
 * Splits the panel's bytes into lines with serialport's ReadlineParser, which buffers without
 * limit: a run of more than `maxBytes` without \n (noise, a wrong baud rate) is reported and
 * dropped up to the next \n.
 */
export class PanelLineReader {
  private parser: ReadlineParser;
  private sinceNewline = 0;
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (bytes: number) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {
    this.parser = this.newParser();
  }

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.discarding) {
      const first = data.indexOf(0x0a);
      if (first === -1) return;
      this.discarding = false;
      data = data.subarray(first + 1);
    }
    this.parser.write(data);
    const last = data.lastIndexOf(0x0a);
    this.sinceNewline = last === -1 ? this.sinceNewline + data.length : data.length - last - 1;
    if (this.sinceNewline <= this.maxBytes) return;
    this.onOverflow(this.sinceNewline);
    this.sinceNewline = 0;
    this.discarding = true;
    this.parser = this.newParser();
  }

  private newParser(): ReadlineParser {
    const parser = new ReadlineParser({ delimiter: "\n", encoding: "latin1" });
    parser.on("data", (line: string) => this.onLine(line));
    return parser;
  }
}

/**
 * AT commands (3GPP TS 27.005 / 27.007) as pure functions: splitting the modem's bytes into lines
 * and the SMS prompt, recognising final results, and reading the answers and unsolicited result
 * codes we use. Parsing never throws: what is not understood comes back as null.
 */
import type { Registration, SimState } from "./modem.js";

/** A line longer than this without a line end is noise (wrong baud rate): dropped. */
export const MAX_AT_LINE = 1_024;
/** One SMS in text mode: 160 GSM-7 characters. */
export const MAX_SMS_CHARS = 160;
/**
 * What we put in an SMS: the printable ASCII characters that are also in the GSM-7 default alphabet
 * (no @, $, `, [, ], {, }, \, ^, ~, |: extension table or code points that differ), sent under
 * AT+CSCS="IRA" so the module maps them to GSM-7 itself.
 */
export const SMS_SAFE = /^[A-Za-z0-9 !"#%&'()*+,\-./:;<=>?_]*$/;
const NUMBER = /^\+?[0-9]{3,20}$/;

export function validSmsText(text: string): string | null {
  if (text.length === 0) return "the text is empty";
  if (text.length > MAX_SMS_CHARS) return `the text is ${text.length} characters, over the ${MAX_SMS_CHARS} of one SMS`;
  if (!SMS_SAFE.test(text)) return "the text has characters outside the GSM-7 subset we send";
  return null;
}

export function validNumber(number: string): boolean {
  return NUMBER.test(number);
}

export type FinalResult =
  | { readonly kind: "ok" }
  | { readonly kind: "error" }
  | { readonly kind: "cms"; readonly code: number }
  | { readonly kind: "cme"; readonly code: number }
  | { readonly kind: "call"; readonly word: "NO CARRIER" | "BUSY" | "NO ANSWER" | "NO DIALTONE" };

const CALL_WORDS = ["NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"] as const;

/** The line that ends a command, or null for an intermediate line or an unsolicited code. */
export function finalResult(line: string): FinalResult | null {
  if (line === "OK") return { kind: "ok" };
  if (line === "ERROR") return { kind: "error" };
  const cms = /^\+CMS ERROR:\s*(\d+)$/.exec(line);
  if (cms) return { kind: "cms", code: Number(cms[1]) };
  const cme = /^\+CME ERROR:\s*(\d+)$/.exec(line);
  if (cme) return { kind: "cme", code: Number(cme[1]) };
  // Verbose errors (AT+CMEE=2 left on by someone): the code is unknown, the kind is not.
  if (line.startsWith("+CMS ERROR:")) return { kind: "cms", code: -1 };
  if (line.startsWith("+CME ERROR:")) return { kind: "cme", code: -1 };
  for (const word of CALL_WORDS) if (line === word) return { kind: "call", word };
  return null;
}

/** Splits a comma-separated AT parameter list, honouring double quotes ("a,b",,3 → [a,b] [] [3]). */
export function splitParams(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

function params(line: string, prefix: string): string[] | null {
  if (!line.startsWith(`${prefix}:`)) return null;
  return splitParams(line.slice(prefix.length + 1));
}

const REGISTRATION: Record<number, Registration> = { 0: "not-registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming", 6: "home", 7: "roaming" };

/**
 * +CREG / +CEREG. The answer to a query is `<n>,<stat>[,…]`; the unsolicited code is `<stat>[,…]`
 * (one parameter, or stat followed by a quoted area code).
 */
export function parseRegistration(line: string, solicited: boolean): Registration | null {
  const p = params(line, "+CREG") ?? params(line, "+CEREG") ?? params(line, "+CGREG");
  if (p === null) return null;
  const raw = solicited ? p[1] : p[0];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return REGISTRATION[Number(raw)] ?? "unknown";
}

export function isRegistered(r: Registration): boolean {
  return r === "home" || r === "roaming";
}

/** +CSQ: <rssi>,<ber> → rssi 0..31, null for 99 (unknown). */
export function parseCsq(line: string): { csq: number | null; signalDbm: number | null } | null {
  const p = params(line, "+CSQ");
  if (p === null || p[0] === undefined || !/^\d+$/.test(p[0])) return null;
  const rssi = Number(p[0]);
  if (rssi > 31) return { csq: null, signalDbm: null };
  return { csq: rssi, signalDbm: -113 + 2 * rssi };
}

export function parseCpin(line: string): SimState | null {
  const p = params(line, "+CPIN");
  if (p === null) return null;
  switch (p[0]?.toUpperCase()) {
    case "READY":
      return "ready";
    case "SIM PIN":
      return "pin-required";
    case "SIM PUK":
      return "puk-required";
    default:
      return "error";
  }
}

/** +CME ERROR codes that say something about the SIM (27.007 §9.2.1). */
export function simStateOfCme(code: number): SimState {
  if (code === 10) return "absent";
  if (code === 11) return "pin-required";
  if (code === 12) return "puk-required";
  return "error";
}

/** +CMTI: <mem>,<index> → the storage index of a new message. */
export function parseCmti(line: string): { memory: string; index: number } | null {
  const p = params(line, "+CMTI");
  if (p === null || p.length < 2 || !/^\d+$/.test(p[1] ?? "")) return null;
  return { memory: p[0] ?? "", index: Number(p[1]) };
}

/** +CMGR: <stat>,<oa>,[<alpha>],<scts> (text mode) → the sender and the time stamp. */
export function parseCmgrHeader(line: string): { from: string; sentAt: string | null } | null {
  const p = params(line, "+CMGR");
  if (p === null || p[1] === undefined || p[1] === "") return null;
  return { from: p[1], sentAt: p[3] !== undefined && p[3] !== "" ? p[3] : null };
}

/** +CMT: <oa>,[<alpha>],<scts> (text mode, a message routed straight to us) → sender and time. */
export function parseCmtHeader(line: string): { from: string; sentAt: string | null } | null {
  const p = params(line, "+CMT");
  if (p === null || p[0] === undefined || p[0] === "") return null;
  return { from: p[0], sentAt: p[2] !== undefined && p[2] !== "" ? p[2] : null };
}

/** +CMGL: <index>,<stat>,<oa>,[<alpha>],<scts> (text mode) → one stored message's header. */
export function parseCmglHeader(line: string): { index: number; from: string; sentAt: string | null } | null {
  const p = params(line, "+CMGL");
  if (p === null || !/^\d+$/.test(p[0] ?? "") || p[2] === undefined || p[2] === "") return null;
  return { index: Number(p[0]), from: p[2], sentAt: p[4] !== undefined && p[4] !== "" ? p[4] : null };
}

export function parseCmgs(line: string): number | null {
  const p = params(line, "+CMGS");
  if (p === null || !/^\d+$/.test(p[0] ?? "")) return null;
  return Number(p[0]);
}

/**
 * Splits the modem's bytes into lines (any of \r\n, \r, \n ends one; empty lines are skipped) and
 * notices the SMS text prompt ("> ", which comes without a line end).
 */
export class AtReader {
  private buffer = "";

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onPrompt: () => void,
    private readonly onOverflow: (chars: number) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer += chunk.toString("latin1");
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end === -1) break;
      const line = this.buffer.slice(0, end).trim();
      this.buffer = this.buffer.slice(end + 1);
      if (line.length > 0) this.onLine(line);
    }
    if (this.buffer.trim() === ">") {
      this.buffer = "";
      this.onPrompt();
    } else if (this.buffer.length > MAX_AT_LINE) {
      this.onOverflow(this.buffer.length);
      this.buffer = "";
    }
  }

  reset(): void {
    this.buffer = "";
  }
}

/**
 * Kiosk-controlled text (fault names, addresses, reasons, errors) must not drive the operator's
 * terminal: control characters (C0, DEL, C1 — ESC and CSI included) and bidi overrides/isolates are
 * shown escaped (`\x1b`, `\u202e`) in human output, and written as \uXXXX escapes in JSON output
 * (JSON.stringify leaves DEL, C1 and bidi characters raw).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** What JSON.stringify leaves raw (it escapes C0 in strings; the C0 left are its own newlines). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, "0");

/** The text with every unsafe character shown as an escape (`\x1b`, `\u202e`). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** JSON.stringify(value, null, 2) with the unsafe characters JSON leaves raw written as \uXXXX (still the same JSON). */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}

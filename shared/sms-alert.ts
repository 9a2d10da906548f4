/**
 * The SMS alert: an alarm in one text message (≤ 160 GSM-7 characters), for when the IP link cannot
 * deliver it (docs/fallback.md). Plain ASCII fields separated by single spaces:
 *
 *   SOS1 <kind> <kioskId> <alertId> <pressedAt> <counter> <mac>
 *   SOS1 S kiosk-0042 1b4e28ba2fa1411d9f2e0c3b5a6d7e8f 20261205T170059Z 17 9f86d081884c7d65
 *
 * kind S (sos) or T (test); alertId the UUID's 32 hex digits; pressedAt UTC to the second; counter
 * a per-kiosk number that only grows (replay protection: the gateway refuses a counter it has seen);
 * mac the first 8 bytes (16 hex) of HMAC-SHA256 under the kiosk's SMS key over everything before it.
 * The centre's answer, under the same key:
 *
 *   SOSACK1 <alertId> <mac>
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { kioskIdSchema } from "./contract.js";

export const SMS_ALERT_VERSION = "SOS1";
export const SMS_ACK_VERSION = "SOSACK1";
const MAC_HEX = 16;
/** An SMS key: 32 random bytes, base64url (43 characters) in configs and the store. */
export const SMS_KEY_BYTES = 32;

export interface SmsAlert {
  readonly kind: "sos" | "test";
  readonly kioskId: string;
  readonly alertId: string;
  /** ISO 8601 UTC, whole seconds. */
  readonly pressedAt: string;
  readonly counter: number;
}

export const SmsRefusal = {
  Malformed: "SMS_MALFORMED",
  UnknownKiosk: "SMS_UNKNOWN_KIOSK",
  Forged: "SMS_FORGED",
  Replayed: "SMS_REPLAYED",
} as const;
export type SmsRefusal = (typeof SmsRefusal)[keyof typeof SmsRefusal];

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: SmsRefusal; readonly reason: string };

export interface SmsKioskKey {
  readonly key: Buffer;
  /** The highest counter accepted from this kiosk so far (0: none). */
  readonly lastCounter: number;
}

export function parseSmsKey(text: string): Buffer {
  const key = Buffer.from(text, "base64url");
  if (key.length !== SMS_KEY_BYTES) throw new Error(`an SMS key is ${SMS_KEY_BYTES} bytes in base64url (${key.length} given)`);
  return key;
}

function mac(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(body, "latin1").digest("hex").slice(0, MAC_HEX);
}

function macMatches(key: Buffer, body: string, given: string): boolean {
  const expected = Buffer.from(mac(key, body), "latin1");
  const actual = Buffer.from(given, "latin1");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const compactId = (uuid: string): string => uuid.replace(/-/g, "").toLowerCase();
const uuidOf = (hex: string): string => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
const compactTime = (iso: string): string => `${new Date(iso).toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;

export function encodeSmsAlert(alert: SmsAlert, key: Buffer): string {
  const body = [SMS_ALERT_VERSION, alert.kind === "sos" ? "S" : "T", alert.kioskId, compactId(alert.alertId), compactTime(alert.pressedAt), String(alert.counter)].join(" ");
  return `${body} ${mac(key, body)}`;
}

const refuse = (code: SmsRefusal, reason: string): Decoded<never> => ({ ok: false, code, reason });

/** Whether a text is meant as an SMS alert at all (anything else is someone else's message). */
export function looksLikeSmsAlert(text: string): boolean {
  return text.trimStart().startsWith(`${SMS_ALERT_VERSION} `);
}

/**
 * Checks an SMS alert: its shape, its kiosk (lookup), its MAC under that kiosk's key and its
 * counter against the highest one accepted so far. The caller stores the new counter.
 */
export function decodeSmsAlert(text: string, lookup: (kioskId: string) => SmsKioskKey | undefined): Decoded<SmsAlert> {
  const fields = text.trim().split(" ");
  if (fields[0] !== SMS_ALERT_VERSION) return refuse(SmsRefusal.Malformed, `does not start with ${SMS_ALERT_VERSION}`);
  if (fields.length !== 7) return refuse(SmsRefusal.Malformed, `has ${fields.length} fields, not 7 (truncated?)`);
  const [, kind, kioskId = "", id = "", time = "", counterText = "", given = ""] = fields;
  if (kind !== "S" && kind !== "T") return refuse(SmsRefusal.Malformed, "kind is not S or T");
  if (!kioskIdSchema.safeParse(kioskId).success) return refuse(SmsRefusal.Malformed, "kiosk id is not a kiosk id");
  if (!/^[0-9a-f]{32}$/.test(id)) return refuse(SmsRefusal.Malformed, "alert id is not 32 hex digits");
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(time);
  const pressedAt = t === null ? "" : `${t[1]}-${t[2]}-${t[3]}T${t[4]}:${t[5]}:${t[6]}.000Z`;
  if (t === null || Number.isNaN(Date.parse(pressedAt))) return refuse(SmsRefusal.Malformed, "press time is not YYYYMMDDTHHMMSSZ");
  if (!/^[1-9]\d{0,15}$/.test(counterText)) return refuse(SmsRefusal.Malformed, "counter is not a positive number");
  if (!/^[0-9a-f]{16}$/.test(given)) return refuse(SmsRefusal.Malformed, `mac is not ${MAC_HEX} hex digits (truncated?)`);
  const known = lookup(kioskId);
  if (known === undefined) return refuse(SmsRefusal.UnknownKiosk, `kiosk ${kioskId} has no SMS key`);
  if (!macMatches(known.key, fields.slice(0, 6).join(" "), given)) return refuse(SmsRefusal.Forged, `mac does not match kiosk ${kioskId}'s key`);
  const counter = Number(counterText);
  if (counter <= known.lastCounter) return refuse(SmsRefusal.Replayed, `counter ${counter} is not above ${known.lastCounter}, the last accepted`);
  return { ok: true, value: { kind: kind === "S" ? "sos" : "test", kioskId, alertId: uuidOf(id), pressedAt, counter } };
}

export function encodeSmsAck(alertId: string, key: Buffer): string {
  const body = `${SMS_ACK_VERSION} ${compactId(alertId)}`;
  return `${body} ${mac(key, body)}`;
}

/** Checks the centre's SMS acknowledgement under the kiosk's own key. */
export function decodeSmsAck(text: string, key: Buffer): Decoded<{ alertId: string }> {
  const fields = text.trim().split(" ");
  if (fields[0] !== SMS_ACK_VERSION) return refuse(SmsRefusal.Malformed, `does not start with ${SMS_ACK_VERSION}`);
  const [, id = "", given = ""] = fields;
  if (fields.length !== 3 || !/^[0-9a-f]{32}$/.test(id) || !/^[0-9a-f]{16}$/.test(given)) return refuse(SmsRefusal.Malformed, "is not SOSACK1 <alertId> <mac>");
  if (!macMatches(key, `${SMS_ACK_VERSION} ${id}`, given)) return refuse(SmsRefusal.Forged, "mac does not match this kiosk's key");
  return { ok: true, value: { alertId: uuidOf(id) } };
}

/**
 * The cellular modem port: what the kiosk's fallback path and the gateway's SMS receiver need from
 * a modem, whatever drives it. The real driver speaks AT commands over a serial port (at-modem.ts);
 * tests also use a fake behind this same interface (test/fixtures/fake-modem.ts).
 *
 * It lives in shared/ because both the kiosk and the gateway (an SMS receiver on a modem of its
 * own) use the same driver; device/ and gateway/ never import each other.
 */
import type { EventEmitter } from "node:events";

/** Network registration as +CREG/+CEREG report it (stat 1 = home, 5 = roaming). */
export type Registration = "home" | "roaming" | "searching" | "denied" | "not-registered" | "unknown";

/** SIM state from +CPIN? (or +CME ERROR 10 = no SIM). */
export type SimState = "ready" | "pin-required" | "puk-required" | "absent" | "error" | "unknown";

export interface ModemStatus {
  /** The serial device is open and answered AT. */
  readonly present: boolean;
  readonly registration: Registration;
  /** +CSQ rssi 0..31 (99 = unknown → null). */
  readonly csq: number | null;
  /** dBm from +CSQ (-113 + 2 × rssi), null when unknown. */
  readonly signalDbm: number | null;
  readonly sim: SimState;
}

export const ABSENT_STATUS: ModemStatus = { present: false, registration: "unknown", csq: null, signalDbm: null, sim: "unknown" };

export interface IncomingSms {
  /** The sender's number as the network gives it (+E.164 usually). */
  readonly from: string;
  readonly text: string;
  /** The service centre time stamp, when the modem gave one. */
  readonly sentAt: string | null;
}

export interface ModemEvents {
  /** A text message arrived (already read from the modem and deleted from its storage). */
  sms: [IncomingSms];
  /** The modem answered after an open (again). */
  present: [];
  /** The modem went away (device removed, no answer); it is reopened with backoff. */
  lost: [{ reason: string }];
  /** A voice call ended on the modem's side (NO CARRIER, BUSY, NO ANSWER). */
  "call-ended": [{ reason: string }];
}

export const ModemErrorCode = {
  /** The device is not open (unplugged, not yet found). */
  Absent: "MODEM_ABSENT",
  /** No final result within the command's time. */
  Timeout: "MODEM_TIMEOUT",
  /** +CMS ERROR: n (SMS service error; `detail` holds n). */
  Cms: "MODEM_CMS_ERROR",
  /** +CME ERROR: n (equipment error; `detail` holds n). */
  Cme: "MODEM_CME_ERROR",
  /** A plain ERROR. */
  Error: "MODEM_ERROR",
  /** Not registered on a network: no SMS or call can go out. */
  NotRegistered: "MODEM_NOT_REGISTERED",
  /** The call did not go through (BUSY, NO CARRIER, NO ANSWER, NO DIALTONE). */
  CallFailed: "MODEM_CALL_FAILED",
  /** The text cannot be sent in one GSM-7 SMS. */
  TextInvalid: "MODEM_TEXT_INVALID",
  /** The modem was stopped. */
  Stopped: "MODEM_STOPPED",
} as const;
export type ModemErrorCode = (typeof ModemErrorCode)[keyof typeof ModemErrorCode];

export class ModemError extends Error {
  constructor(
    readonly code: ModemErrorCode,
    message: string,
    /** The numeric +CMS/+CME code, or the call's final result word. */
    readonly detail?: number | string,
  ) {
    super(message);
    this.name = "ModemError";
  }
}

export function isModemError(err: unknown, code?: ModemErrorCode): err is ModemError {
  return err instanceof ModemError && (code === undefined || err.code === code);
}

/**
 * Whether trying the same SMS again later may work: a timeout, no registration, a network-side
 * +CMS error (temporary failure, congestion, no network service); not a malformed text or number.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof ModemError)) return false;
  if (err.code === ModemErrorCode.TextInvalid || err.code === ModemErrorCode.Stopped) return false;
  // +CMS ERROR 304 (invalid PDU parameter), 305 (invalid text parameter), 21 (rejected),
  // 1 (unassigned number): the same message would fail again.
  if (err.code === ModemErrorCode.Cms && typeof err.detail === "number" && [1, 21, 304, 305].includes(err.detail)) return false;
  return true;
}

export interface SmsSent {
  /** The message reference from +CMGS. */
  readonly reference: number;
}

export interface Modem extends EventEmitter<ModemEvents> {
  readonly isPresent: boolean;
  /** Opens the device; resolves after the first attempt whatever its outcome (an absent modem is retried). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Asks the modem now (SIM, registration, signal); an absent modem reports ABSENT_STATUS. */
  status(): Promise<ModemStatus>;
  /** One text-mode SMS (GSM-7, ≤160 characters). Rejects with a ModemError. */
  sendSms(number: string, text: string): Promise<SmsSent>;
  /** Places a voice call; resolves when the modem took the dial command. */
  dial(number: string): Promise<void>;
  /** Ends any voice call. */
  hangUp(): Promise<void>;
}

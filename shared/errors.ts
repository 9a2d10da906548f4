/**
 * Stable error codes. Code branches on `code`, never on message text.
 * Messages are single lines that say what is wrong and how to fix it.
 */
export const ErrorCode = {
  ConfigInvalid: "CONFIG_INVALID",
  ConfigMissing: "CONFIG_MISSING",
  ArgumentInvalid: "ARGUMENT_INVALID",
  PortInUse: "PORT_IN_USE",
  KioskExists: "KIOSK_EXISTS",
  KioskUnknown: "KIOSK_UNKNOWN",
  OperatorExists: "OPERATOR_EXISTS",
  OperatorUnknown: "OPERATOR_UNKNOWN",
  AlertUnknown: "ALERT_UNKNOWN",
  StoreUnavailable: "STORE_UNAVAILABLE",
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  PayloadNotJson: "PAYLOAD_NOT_JSON",
  PayloadInvalid: "PAYLOAD_INVALID",
  KioskMismatch: "KIOSK_MISMATCH",
  AlertIdConflict: "ALERT_ID_CONFLICT",
  DispatchFailed: "DISPATCH_FAILED",
  OutboxCorrupt: "OUTBOX_CORRUPT",
  KioskBusy: "KIOSK_BUSY",
  ReleaseInvalid: "RELEASE_INVALID",
  UpdateRefused: "UPDATE_REFUSED",
  /** The update home's files cannot be read or written by this user (a 'sudo sos kiosk update' left them root's). */
  UpdateHomePermission: "UPDATE_HOME_PERMISSION",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SosError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SosError";
    this.code = code;
  }
}

export function isSosError(err: unknown, code?: ErrorCode): err is SosError {
  return err instanceof SosError && (code === undefined || err.code === code);
}

/**
 * The log level for a failure a loop retries by itself: "debug" while the store is unreachable (the
 * gateway says that once per outage, store/availability.ts: a line per retry would bury it), else
 * `otherwise` ("error" unless said).
 */
export function retriedFailureLevel<L extends "warn" | "error" = "error">(err: unknown, otherwise: L = "error" as L): "debug" | L {
  return isSosError(err, ErrorCode.StoreUnavailable) ? "debug" : otherwise;
}

/** The message of anything thrown, on one line. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Why a serial panel cannot be opened, in one line that says what to do. serialport's native binding
 * (bindings-cpp) reports an open failure as text only ("Error: Permission denied, cannot open …",
 * "Error: Inappropriate ioctl for device setting custom baud rate of …"), with no code: this is the
 * one place that reads that text, turning libc's strerror wording into the errno code the rest of
 * the agent branches on.
 */
import { errorMessage } from "../../shared/errors.js";

export type SerialOpenCode = "ENOENT" | "EACCES" | "ENOTTY" | "EBUSY";

const STRERROR: readonly [string, SerialOpenCode][] = [
  ["No such file or directory", "ENOENT"],
  ["Permission denied", "EACCES"],
  ["Inappropriate ioctl for device", "ENOTTY"],
  ["Cannot lock port", "EBUSY"],
  ["Device or resource busy", "EBUSY"],
];

/** The errno code of an open failure: the error's own code, else read from libc's wording. */
export function serialOpenCode(err: unknown): SerialOpenCode | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === "ENOENT" || code === "EACCES" || code === "ENOTTY" || code === "EBUSY") return code;
  if (code === "EPERM") return "EACCES";
  const text = errorMessage(err);
  return STRERROR.find(([words]) => text.includes(words))?.[1];
}

/** An error for `error` events and the fault: the code and a one-line message with the fix. */
export function serialOpenError(err: unknown, path: string): Error & { code?: SerialOpenCode } {
  const code = serialOpenCode(err);
  const message = serialOpenProblem(code, path, errorMessage(err));
  return Object.assign(new Error(message, { cause: err }), code === undefined ? {} : { code });
}

function serialOpenProblem(code: SerialOpenCode | undefined, path: string, detail: string): string {
  switch (code) {
    case "ENOENT":
      return `serial panel ${path} not found: the panel is not plugged in, or button.path in kiosk.json is wrong (ls /dev/serial/by-id/ lists the serial devices plugged in)`;
    case "EACCES":
      return `no permission to open serial panel ${path}: add the kiosk's user to the dialout group (sudo usermod -aG dialout USER; deploy/udev/90-sos-kiosk.rules gives USB serial devices to dialout) and restart the agent`;
    case "ENOTTY":
      return `${path} is not a serial device: set button.path in kiosk.json to the panel's /dev/serial/by-id/… path`;
    case "EBUSY":
      return `serial panel ${path} is held by another program (another agent, ModemManager, a terminal): stop it`;
    case undefined:
      return `cannot open serial panel ${path}: ${detail}`;
  }
}

/**
 * Creates a folder of the kiosk's data partition (`state/`, …) without throwing: on a read-only,
 * missing or full card the agent keeps working from memory, and each failed save is logged where it
 * happens. One error line says which folder and what to check.
 */

import type { Logger } from "pino";
import { makeDir } from "../../shared/make-dir.js";

export function ensureDir(dir: string, log: Logger, keptInMemory: string): boolean {
  try {
    makeDir(dir);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.error({ err: { message: e.message, code: e.code }, dir }, `cannot create ${dir}: ${keptInMemory} kept in memory only; check the data partition (mounted read-only? full?)`);
    return false;
  }
}

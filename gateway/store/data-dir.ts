/**
 * The data folder holds the store (kiosk secrets' hashes, operator password hashes, sessions, alert
 * addresses) and the snapshots: only the gateway's user may read it, whichever command made it.
 * The folder is 0700 and gateway.db (with its -wal and -shm) 0600; an existing folder or file that
 * others could read is tightened when the store is opened, and the caller is told (to log it).
 */
import { chmodSync, closeSync, existsSync, openSync, statSync } from "node:fs";
import { makeDir } from "../../shared/make-dir.js";

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export interface Tightened {
  readonly path: string;
  /** The mode found, as octal text ("755"). */
  readonly was: string;
  readonly now: string;
}

const octal = (mode: number): string => (mode & 0o777).toString(8);

/** chmods `path` to `mode` when group or others have any access; returns what it changed. */
function tighten(path: string, mode: number): Tightened | undefined {
  let current: number;
  try {
    current = statSync(path).mode;
  } catch {
    return undefined; // not there (a -wal that SQLite removed): nothing to tighten
  }
  if ((current & 0o077) === 0) return undefined;
  try {
    chmodSync(path, mode);
  } catch (err) {
    // Another user's file (a root-owned folder read by an operator's CLI): not ours to change.
    if ((err as NodeJS.ErrnoException).code === "EPERM") return undefined;
    throw err;
  }
  return { path, was: octal(current), now: octal(mode) };
}

/** Creates the folder 0700 (or tightens it) and tightens its files; returns what was tightened. */
export function secureDataDir(dir: string): Tightened[] {
  makeDir(dir, DIR_MODE);
  const changed = tighten(dir, DIR_MODE);
  return changed === undefined ? [] : [changed];
}

/**
 * Makes the database file exist with 0600 before SQLite opens it: SQLite gives the -wal and -shm it
 * creates the database file's mode, so they are born private too.
 */
export function secureStoreFile(path: string): Tightened[] {
  if (!existsSync(path)) closeSync(openSync(path, "a", FILE_MODE));
  return secureStoreFiles(path);
}

/** Tightens gateway.db and its -wal and -shm (when present). */
export function secureStoreFiles(path: string): Tightened[] {
  return [path, `${path}-wal`, `${path}-shm`].flatMap((p) => tighten(p, FILE_MODE) ?? []);
}

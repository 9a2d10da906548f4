/**
 * The kiosk's key and certificate are two files, and no rename swaps two files at once. The swap is
 * made crash-safe instead: every new file (KEY.new, CERT.new, and KEY.old, a copy of the key in use)
 * is written and fsync'd, with its folder, before the first rename; then KEY.new → KEY, CERT.new →
 * CERT, each rename fsync'd, and KEY.old removed. A power cut at any point leaves files from which
 * recoverTlsPair (run at the kiosk's start, before the link reads them) rebuilds a matching pair:
 * the new one when the files left behind are complete and match, else the old one.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { errorMessage } from "../../shared/errors.js";
import { type PairVerdict, pairVerdict } from "../../shared/pki/pair.js";
import { fsyncDir, writeSynced } from "../lib/durable-file.js";

export interface TlsPaths {
  readonly cert: string;
  readonly key: string;
}

/** The file operations of the swap: real files by default; tests cut the power between two of them. */
export interface SwapIo {
  /** Creates or replaces `path` with `data` and fsyncs it (not its folder). */
  writeSynced(path: string, data: string, mode: number): void;
  rename(from: string, to: string): void;
  remove(path: string): void;
  syncDir(dir: string): void;
}

export const fileIo: SwapIo = {
  writeSynced,
  rename: (from, to) => renameSync(from, to),
  remove: (path) => rmSync(path, { force: true }),
  syncDir: fsyncDir,
};

export const leftoversOf = (files: TlsPaths): { keyNew: string; certNew: string; keyOld: string } => ({
  keyNew: `${files.key}.new`,
  certNew: `${files.cert}.new`,
  keyOld: `${files.key}.old`,
});

function syncDirs(io: SwapIo, files: TlsPaths): void {
  io.syncDir(dirname(files.key));
  if (dirname(files.cert) !== dirname(files.key)) io.syncDir(dirname(files.cert));
}

/**
 * The swap failed (a full disk, an I/O error) and could not be undone either: the files are left for
 * recoverTlsPair at the next start. The kiosk must not answer the command then (see swapTlsPair).
 */
export class SwapNotUndone extends Error {
  override readonly name = "SwapNotUndone";
}

/**
 * Installs a key and its certificate over the kiosk's TLS files, crash-safe (see above).
 *
 * A step that throws (not a power cut: the kiosk goes on and answers the command) is undone before the
 * error is passed on: the old key is renamed back (renames need no free space) and the new files are
 * removed, so that an "error" answer, on which the gateway revokes the new certificate, always leaves the
 * old pair in place and nothing recovery would roll forward to. If the undo fails too, one error line is
 * logged, the files are left for the start-up recovery, and SwapNotUndone is thrown: then, as after a
 * power cut, nothing is answered. Once the certificate is renamed in, the new pair is in place: what
 * fails after that (fsync, removing KEY.old) is logged, not thrown.
 */
export function swapTlsPair(files: TlsPaths, pair: { keyPem: string; certPem: string }, opts: { io?: SwapIo; log?: Logger } = {}): void {
  const io = opts.io ?? fileIo;
  const left = leftoversOf(files);
  let oldKey: string | undefined;
  let keyRenamed = false;
  try {
    io.writeSynced(left.keyNew, pair.keyPem, 0o600);
    io.writeSynced(left.certNew, pair.certPem, 0o644);
    oldKey = readText(files.key);
    if (oldKey !== undefined) io.writeSynced(left.keyOld, oldKey, 0o600);
    syncDirs(io, files);
    io.rename(left.keyNew, files.key);
    keyRenamed = true;
    syncDirs(io, files);
    io.rename(left.certNew, files.cert);
  } catch (err) {
    undoSwap(files, { keyRenamed, hadKey: oldKey !== undefined }, io, err, opts.log);
    throw err;
  }
  try {
    syncDirs(io, files);
    io.remove(left.keyOld);
    syncDirs(io, files);
  } catch (err) {
    opts.log?.warn({ reason: errorMessage(err), leftover: left.keyOld }, "the new key and certificate are in place; finishing the swap failed (the next start removes what is left)");
  }
}

/** Puts the old pair back after a failed swap; throws SwapNotUndone (and logs why) when it cannot. */
function undoSwap(files: TlsPaths, state: { keyRenamed: boolean; hadKey: boolean }, io: SwapIo, cause: unknown, log: Logger | undefined): void {
  const left = leftoversOf(files);
  try {
    // In this order, a power cut during the undo still leaves files recovery takes back to the old pair.
    if (state.keyRenamed) {
      if (state.hadKey) io.rename(left.keyOld, files.key);
      else io.remove(files.key);
    }
    io.remove(left.certNew);
    io.remove(left.keyNew);
    io.remove(left.keyOld);
    syncDirs(io, files);
  } catch (err) {
    const leftovers = [left.keyNew, left.certNew, left.keyOld].filter((p) => existsSync(p));
    log?.error(
      { reason: errorMessage(cause), undo: errorMessage(err), leftovers },
      "installing the renewed certificate failed and the old key and certificate could not be put back: the files are left for the next start, which keeps a matching pair; the command is not answered (the gateway sends it again)",
    );
    throw new SwapNotUndone(`the swap failed (${errorMessage(cause)}) and could not be undone (${errorMessage(err)})`, { cause });
  }
}

export type TlsRecovery =
  /** Nothing was left behind and the pair matches. */
  | { readonly outcome: "intact"; readonly serial: string }
  /** An interrupted swap was finished: the new pair is in place. */
  | { readonly outcome: "rolled-forward"; readonly serial: string; readonly discarded: string[] }
  /** The files left behind were incomplete or did not match: removed, the old pair kept (or its key put back). */
  | { readonly outcome: "kept-old"; readonly serial: string; readonly discarded: string[]; readonly reason: string }
  /** The key or certificate cannot be read (the link says so when it tries). */
  | { readonly outcome: "unreadable"; readonly reason: string }
  /** No matching pair can be made from what is on disk. */
  | { readonly outcome: "broken"; readonly reason: string; readonly discarded: string[] };

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}


/**
 * Makes the TLS files a matching pair again after an interrupted swap (see above). Leaves no `.new`
 * file, and KEY.old only when no matching pair can be made.
 */
export function recoverTlsPair(files: TlsPaths, kioskId: string, io: SwapIo = fileIo): TlsRecovery {
  const left = leftoversOf(files);
  const present = [left.keyNew, left.certNew, left.keyOld].filter((p) => existsSync(p));
  const current = (): PairVerdict => pairVerdict(readText(files.cert), readText(files.key), kioskId);
  if (present.length === 0) {
    if (readText(files.cert) === undefined || readText(files.key) === undefined) return { outcome: "unreadable", reason: "the key or certificate file is missing or unreadable" };
    const now = current();
    return "serial" in now ? { outcome: "intact", serial: now.serial } : { outcome: "broken", reason: now.reason, discarded: [] };
  }

  // Roll forward: the new certificate with the new key (before the first rename) or the key in place (after it).
  const newCert = readText(left.certNew);
  let why = newCert === undefined ? "no new certificate was written" : "";
  if (newCert !== undefined) {
    for (const keyPath of [left.keyNew, files.key]) {
      const v = pairVerdict(newCert, readText(keyPath), kioskId);
      if ("reason" in v) {
        if (why === "" && v.reason !== "missing") why = `${left.certNew}: ${v.reason}`;
        continue;
      }
      if (keyPath === left.keyNew) {
        io.rename(left.keyNew, files.key);
        syncDirs(io, files);
      }
      io.rename(left.certNew, files.cert);
      syncDirs(io, files);
      const discarded = [left.keyNew, left.keyOld].filter((p) => existsSync(p));
      for (const p of discarded) io.remove(p);
      syncDirs(io, files);
      return { outcome: "rolled-forward", serial: v.serial, discarded };
    }
  }

  // Otherwise the new files are thrown away and the old pair kept; its key comes back from KEY.old if it was replaced.
  const discarded = [left.keyNew, left.certNew].filter((p) => existsSync(p));
  for (const p of discarded) io.remove(p);
  let now = current();
  if ("reason" in now && existsSync(left.keyOld)) {
    const back = pairVerdict(readText(files.cert), readText(left.keyOld), kioskId);
    if ("serial" in back) {
      io.rename(left.keyOld, files.key);
      now = back;
    }
  }
  if ("serial" in now && existsSync(left.keyOld)) {
    io.remove(left.keyOld);
    // Only KEY.old was left: both renames had happened, and the pair in place is the new one.
    if (discarded.length === 0 && present.length === 1) {
      syncDirs(io, files);
      return { outcome: "rolled-forward", serial: now.serial, discarded: [left.keyOld] };
    }
  }
  syncDirs(io, files);
  if ("serial" in now) return { outcome: "kept-old", serial: now.serial, discarded, reason: why };
  return { outcome: "broken", reason: existsSync(left.keyOld) ? `${now.reason} (the previous key is kept in ${left.keyOld})` : now.reason, discarded };
}

/**
 * The gateway's server key and certificate are two files (server.key, server.crt), and no rename
 * replaces two files at once. They are replaced so that a crash at any point leaves files from which
 * recoverServerPair (run at the gateway's start, before they are read) makes a matching pair:
 *
 *   1. server.key.new and server.crt.new are written and fsync'd, then the folder is fsync'd;
 *   2. server.key.new → server.key, folder fsync'd;
 *   3. server.crt.new → server.crt, folder fsync'd.
 *
 * A crash before 2 leaves the old pair in place: the .new files are finished at start when both are
 * whole and match, else removed. A crash between 2 and 3 leaves the new key next to the old
 * certificate, and server.crt.new, complete since step 1, is the certificate for that key: it is
 * renamed into place. There is no way to end with a key that does not match its certificate.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { fsyncDir, writeSynced } from "../../shared/durable-file.js";
import { certificateMatchesKey } from "../../shared/pki/pair.js";
import type { PkiPaths } from "./ca.js";

/** The file operations of the swap: real files by default; tests cut the power between two of them. */
export interface PairIo {
  writeSynced(path: string, data: string, mode: number): void;
  rename(from: string, to: string): void;
  remove(path: string): void;
  syncDir(dir: string): void;
}

export const pairFileIo: PairIo = { writeSynced, rename: (from, to) => renameSync(from, to), remove: (path) => rmSync(path, { force: true }), syncDir: fsyncDir };

type ServerFiles = Pick<PkiPaths, "dir" | "serverKey" | "serverCert">;

const leftovers = (p: ServerFiles): { keyNew: string; certNew: string } => ({ keyNew: `${p.serverKey}.new`, certNew: `${p.serverCert}.new` });

/** Replaces the server key and certificate, crash-safe (see above). */
export function writeServerPair(paths: ServerFiles, pair: { keyPem: string; certPem: string }, io: PairIo = pairFileIo): void {
  const { keyNew, certNew } = leftovers(paths);
  io.writeSynced(keyNew, pair.keyPem, 0o600);
  io.writeSynced(certNew, pair.certPem, 0o644);
  io.syncDir(paths.dir);
  io.rename(keyNew, paths.serverKey);
  io.syncDir(paths.dir);
  io.rename(certNew, paths.serverCert);
  io.syncDir(paths.dir);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Whether the certificate is for the key; false when either is missing or unreadable (shared/pki/pair.ts). */
export const pairMatches = (certPem: string | undefined, keyPem: string | undefined): boolean => certificateMatchesKey(certPem, keyPem);

/** "absent": there is no server key, certificate or leftover at all (no CA yet, or only its files). */
export type PairRecovery = "absent" | "intact" | "rolled-forward" | "discarded-new" | "mismatched";

/** Makes server.key and server.crt a matching pair again after an interrupted write (see above); leaves no .new file. */
export function recoverServerPair(paths: ServerFiles, io: PairIo = pairFileIo): PairRecovery {
  const { keyNew, certNew } = leftovers(paths);
  const hadLeftovers = existsSync(keyNew) || existsSync(certNew);
  if (!hadLeftovers && !existsSync(paths.serverKey) && !existsSync(paths.serverCert)) return "absent";
  if (hadLeftovers) {
    const newCert = readText(certNew);
    if (newCert !== undefined && (pairMatches(newCert, readText(keyNew)))) {
      io.rename(keyNew, paths.serverKey); // crashed before step 2
      io.syncDir(paths.dir);
    }
    if (newCert !== undefined && (pairMatches(newCert, readText(paths.serverKey)))) {
      io.rename(certNew, paths.serverCert); // crashed before step 3
      io.remove(keyNew);
      io.syncDir(paths.dir);
      return "rolled-forward";
    }
    io.remove(keyNew);
    io.remove(certNew);
    io.syncDir(paths.dir);
  }
  if (!(pairMatches(readText(paths.serverCert), readText(paths.serverKey)))) return "mismatched";
  return hadLeftovers ? "discarded-new" : "intact";
}

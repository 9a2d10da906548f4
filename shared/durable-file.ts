/**
 * Writes a small file so that it survives a power cut: temp file, fsync, rename over the target, fsync
 * of the folder. A reader sees the old content or the new, never a torn file. Throws on any failure.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export function writeFileDurably(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  writeSynced(tmp, data, mode);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Creates or replaces `path` with `data` and fsyncs it (not its folder: see fsyncDir). */
export function writeSynced(path: string, data: string, mode: number): void {
  const fd = openSync(path, "w", mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

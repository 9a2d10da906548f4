/**
 * Writes a small file so that it survives a power cut: temp file, fsync, rename over the target, fsync
 * of the folder. A reader sees the old content or the new, never a torn file. Throws on any failure.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { z } from "zod";

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

/** What reading a small state file against its schema found: its value, none (never written), or a file that is unreadable. */
export type StateFileRead<T> = { readonly found: "value"; readonly value: T } | { readonly found: "none" } | { readonly found: "unreadable"; readonly reason: string };

/** Reads a state file (as writeFileDurably leaves it) against `schema`. Never throws. */
export function readStateFile<T>(path: string, schema: z.ZodType<T>): StateFileRead<T> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { found: "none" };
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? { found: "value", value: parsed.data } : { found: "unreadable", reason: "does not match the schema" };
  } catch (err) {
    return { found: "unreadable", reason: (err as Error).message };
  }
}

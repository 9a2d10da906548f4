/**
 * `mkdir -p` that always ends. Node's own `mkdirSync(dir, { recursive: true })` (and the promise
 * form) never returns for a folder under /proc or /sys: those answer ENOENT for a child that cannot
 * exist, and Node takes that as "make the parent first", finds the parent there, and tries again, at
 * 100 % CPU for ever (nodejs/node, same on 18–22). A typo in `--out` or `dataDir` would freeze the
 * CLI or a kiosk before its button is armed. This makes each missing folder from the top down, one
 * plain mkdir each, so the error of the first that cannot be made is thrown as it is.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export function makeDir(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      statSync(at);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      missing.push(at);
      if (dirname(at) === at) break;
    }
  }
  // A file where the folder should be: mkdir says so (EEXIST), as `mkdir -p` would.
  if (missing.length === 0 && !statSync(dir).isDirectory()) mkdirSync(dir);
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, mode === undefined ? undefined : { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // made meanwhile by someone else
    }
  }
}

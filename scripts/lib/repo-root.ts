/** The folder holding package.json, found upwards from this file (in the sources or in dist/). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot(import.meta.dirname);

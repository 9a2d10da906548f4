/**
 * makeDir: a folder that cannot be made (under /proc, where Node's own recursive mkdir spins for
 * ever) is an error at once; the rest is `mkdir -p`.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeDir } from "../../shared/make-dir.js";

describe("makeDir", () => {
  const made: string[] = [];
  const temp = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "sos-makedir-"));
    made.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("a folder under /proc is refused at once with the system's own error, not spun on", () => {
    expect(() => makeDir("/proc/sos-no-such/kiosk")).toThrow(/ENOENT.*\/proc\/sos-no-such/);
  });

  it("makes every missing folder, each with the mode given, and is happy when they exist", () => {
    const root = temp();
    const deep = join(root, "a", "b", "c");
    makeDir(deep, 0o700);
    makeDir(deep, 0o700);
    for (const dir of [join(root, "a"), join(root, "a", "b"), deep]) {
      expect(statSync(dir).isDirectory()).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
  });

  it("a file where a folder should be is refused, as mkdir -p refuses it", () => {
    const root = temp();
    writeFileSync(join(root, "file"), "x");
    expect(() => makeDir(join(root, "file"))).toThrow(/EEXIST/);
    expect(() => makeDir(join(root, "file", "under"))).toThrow(/ENOTDIR/);
  });
});

/**
 * kiosk.json holds the kiosk's secrets and is its owner's only (0600): `sos kiosk doctor` run by a
 * technician without sudo cannot read it, and says so in one line with what to do (sudo), not a bare
 * EACCES. Needs root to play the technician (`nobody` here); runs the built CLI.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { SOS_BIN, tempDir } from "./harness.js";

describe.skipIf(process.geteuid?.() !== 0)("sos kiosk doctor without sudo", () => {
  const defer = deferCleanups();

  it("says to run it with sudo when kiosk.json is not readable", () => {
    const dir = tempDir();
    defer(() => dir.remove());
    chmodSync(dir.path, 0o755);
    const file = join(dir.path, "kiosk.json");
    writeFileSync(file, "{}", { mode: 0o600 });
    const res = spawnSync(process.execPath, [SOS_BIN, "kiosk", "doctor", "--config", file], { encoding: "utf8", uid: 65534, gid: 65534 });
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split("\n")).toEqual([`sos: cannot read config file ${file}: permission denied (EACCES): it is readable by its owner only (it holds secrets); run the command with sudo, or as the file's owner`]);
  });
});

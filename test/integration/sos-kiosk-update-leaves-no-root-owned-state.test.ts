/**
 * `sudo sos kiosk update` would leave update/state.json root's (0600): the agent, running as the
 * kiosk's user, could not read it, and the new release would run with no health gate and no
 * rollback. Run as root over a home that is the kiosk user's, it is refused with one line giving the
 * command to run instead, and nothing is written. Run as the kiosk's user over a state root left
 * there, it fails with one line naming the file and the chown that fixes it (not "unexpected error").
 * Needs root to play both users (the kiosk's user is `nobody` here); runs the built CLI.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateReleaseKeys } from "../../shared/release.js";
import { installHome, makeRelease } from "../fixtures/update-rig.js";
import { PATHS } from "./update-harness.js";
import { SOS_BIN, tempDir } from "./harness.js";

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

describe.skipIf(!asRoot)("sos kiosk update leaves no root-owned state", () => {
  let dir: { path: string; remove(): void };
  let home: string;
  let configPath: string;
  let release: { archive: string; manifest: string };

  beforeEach(async () => {
    dir = tempDir();
    chmodSync(dir.path, 0o755);
    home = join(dir.path, "home");
    mkdirSync(home);
    const keys = generateReleaseKeys();
    const kiosk = { version: 1, kioskId: "kz-root-0001", location: { lat: 43.25, lon: 76.95, address: "km 1" }, mqtt: { url: "mqtt://127.0.0.1:9", username: "kz-root-0001", password: "pw-123456" }, button: { driver: "stdin" } };
    configPath = installHome(home, PATHS, "1.0.0", kiosk, keys.publicKeyPem);
    release = await makeRelease(dir.path, PATHS, "1.1.0", "good", keys.privateKeyPem);
    // As install.sh leaves it: the whole home is the kiosk user's.
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, home]);
  });
  afterEach(() => dir.remove());

  const update = (uid?: number): { status: number | null; stderr: string } => {
    const res = spawnSync(process.execPath, [SOS_BIN, "kiosk", "update", "--config", configPath, "--archive", release.archive, "--manifest", release.manifest], {
      encoding: "utf8",
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    return { status: res.status, stderr: res.stderr };
  };

  it("as root, is refused with the command to run as the kiosk's user, and writes nothing", () => {
    const state = readFileSync(join(home, "update/state.json"), "utf8");
    const res = update();
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toContain(`sudo -u nobody sos kiosk update --config ${configPath} --archive ${release.archive}`);
    expect(readFileSync(join(home, "update/state.json"), "utf8")).toBe(state);
    expect(statSync(join(home, "update/state.json")).uid).toBe(NOBODY);
  });

  it("as the kiosk's user, a state left root's is one line naming the file and the chown", () => {
    const file = join(home, "update/state.json");
    chownSync(file, 0, 0);
    chmodSync(file, 0o600);
    const res = update(NOBODY);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).not.toContain("unexpected error");
    expect(res.stderr).toContain(`cannot use ${file}: permission denied (EACCES)`);
    expect(res.stderr).toContain(`sudo chown -R nobody: ${home}`);
  });
});

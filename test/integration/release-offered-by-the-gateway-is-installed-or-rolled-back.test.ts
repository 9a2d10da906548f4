/**
 * Releases from the gateway: `sos release publish` keeps a signed release (checked with the release
 * public key), `sos release offer` queues install-release on the kiosk's commands topic, the kiosk
 * downloads it from GET /releases/…, checks it with its own key, switches and restarts into it
 * (exit 75 → the supervisor standing in for systemd). A good release is confirmed; one failing its
 * gate is rolled back and reported; an archive altered at the gateway is refused before unpacking.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { currentRelease, readState } from "../../device/update/update-state.js";
import { generateReleaseKeys } from "../../shared/release.js";
import type { ReleaseBehaviour } from "../fixtures/update-rig.js";
import { deferCleanups } from "./cleanups.js";
import { SOS_BIN, waitFor } from "./harness.js";
import { KIOSK, kioskRow, type Rig, startUpdateRig } from "./update-harness.js";

describe("a release offered by the gateway is installed, or rolled back by itself", () => {
  const defer = deferCleanups();

  const sos = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [SOS_BIN, ...args], { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  /** Publishes 1.1.0 (this behaviour) at the gateway and offers it to the kiosk. */
  async function publishAndOffer(r: Rig, behaviour: ReleaseBehaviour, alter?: (store: Database.Database) => void): Promise<void> {
    const dataDir = r.system.gateway.dataDir;
    writeFileSync(join(dataDir, "release-signing.pub"), r.keys.publicKeyPem);
    const { archive, manifest } = await r.release("1.1.0", behaviour);
    const published = sos("release", "publish", archive, "--data-dir", dataDir, "--manifest", manifest);
    expect(published.stderr).toBe("");
    expect(published.stdout).toMatch(/^published release 1\.1\.0 /);
    if (alter !== undefined) {
      const db = new Database(join(dataDir, STORE_FILE));
      alter(db);
      db.close();
    }
    const offered = sos("release", "offer", "1.1.0", "--data-dir", dataDir, "--release-url", `http://127.0.0.1:${r.system.gateway.httpPort}`, "--kiosk", KIOSK);
    expect(offered.stderr).toBe("");
    expect(offered.stdout).toMatch(/^offered release 1\.1\.0 to 1 kiosk/);
  }

  const answered = async (r: Rig): Promise<void> => {
    await waitFor(async () => (await r.system.gateway.store.pendingCommands(KIOSK)).length === 0, "the kiosk's answer to install-release", 30_000);
  };

  it("a good release is downloaded, checked, switched to and confirmed", async () => {
    const r = await startUpdateRig(defer);
    await publishAndOffer(r, "good");
    const state = await waitFor(() => {
      const s = readState(r.home);
      return s?.phase === "confirmed" && s.current === "1.1.0" ? s : undefined;
    }, "1.1.0 confirmed", 30_000);
    expect(state.previous).toBe("1.0.0");
    expect(currentRelease(r.home)).toBe("1.1.0");
    await answered(r);
    await waitFor(async () => (await r.report())?.current === "1.1.0", "1.1.0 reported", 30_000);
    expect(kioskRow(r)).toMatch(/\s1\.1\.0$/);
    expect(r.supervisor.logs().find((l) => l.msg === "command carried out")).toMatchObject({ type: "install-release", status: "ok" });
  });

  it("a release that fails its gate is rolled back and reported", async () => {
    const r = await startUpdateRig(defer);
    await publishAndOffer(r, "stuck-button");
    await waitFor(() => readState(r.home)?.phase === "rolled-back", "the rollback", 30_000);
    expect(currentRelease(r.home)).toBe("1.0.0");
    const report = await waitFor(async () => {
      const u = await r.report();
      return u?.phase === "rolled-back" ? u : undefined;
    }, "the rollback reported", 30_000);
    expect(report).toMatchObject({ current: "1.0.0", failed: "1.1.0" });
    expect(report.reason).toMatch(/button self-test failed/);
  });

  it("an archive altered at the gateway is refused before anything is unpacked", async () => {
    const r = await startUpdateRig(defer);
    const before = readdirSync(join(r.home, "releases")).sort();
    // One byte of the archive in the store changed (its length kept): the kiosk's digest check refuses it.
    await publishAndOffer(r, "good", (db) => {
      const chunk = db.prepare<[], { bytes: Buffer }>("SELECT bytes FROM release_chunks WHERE version = '1.1.0' AND part = 0").get();
      if (chunk === undefined) throw new Error("no chunk 0 of 1.1.0 in the store");
      chunk.bytes[100] = (chunk.bytes[100] ?? 0) ^ 0xff;
      db.prepare("UPDATE release_chunks SET bytes = ? WHERE version = '1.1.0' AND part = 0").run(chunk.bytes);
    });
    const result = await waitFor(() => r.supervisor.logs().find((l) => l.msg === "command carried out" && l.type === "install-release"), "the kiosk's answer", 30_000);
    expect(result.status).toBe("error");
    const refused = r.supervisor.logs().find((l) => l.msg === "new release not installed");
    expect(JSON.stringify(refused)).toMatch(/more than the \d+ bytes the manifest promises|digest does not match/);
    await answered(r);
    expect(readdirSync(join(r.home, "releases")).sort()).toEqual(before);
    expect(readState(r.home)).toMatchObject({ phase: "confirmed", current: "1.0.0" });
    expect(currentRelease(r.home)).toBe("1.0.0");
  });

  it("publishing refuses a release not signed with the gateway's release key", async () => {
    const r = await startUpdateRig(defer);
    const dataDir = r.system.gateway.dataDir;
    writeFileSync(join(dataDir, "release-signing.pub"), generateReleaseKeys().publicKeyPem);
    const { archive, manifest } = await r.release("1.1.0", "good");
    const published = sos("release", "publish", archive, "--data-dir", dataDir, "--manifest", manifest);
    expect(published.status).toBe(1);
    expect(published.stderr).toMatch(/^sos: release 1\.1\.0: the signature does not match/);
  });
});

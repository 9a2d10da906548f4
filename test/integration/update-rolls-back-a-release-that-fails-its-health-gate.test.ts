/**
 * Updates end to end with real processes: a real gateway and dispatch receiver, the agent run from
 * its `current` link by a supervisor standing in for systemd (guard before each start, restart on
 * exit, power cuts), releases installed with the real `sos kiosk update` and signed with
 * `sos release keygen` / `sos release sign`. A good release is confirmed; one that crashes, cannot
 * connect or fails its button self-test, and a power cut at every step of the switch, end on the
 * previous release, reported to the gateway; a press during an update reaches dispatch once.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { currentRelease, readState } from "../../device/update/update-state.js";
import { generateReleaseKeys } from "../../shared/release.js";
import { makeRelease, type ReleaseBehaviour } from "../fixtures/update-rig.js";
import { deferCleanups } from "./cleanups.js";
import { REPO_ROOT, SOS_BIN, waitFor } from "./harness.js";
import { kioskRow, PATHS, type Rig, startUpdateRig } from "./update-harness.js";

describe("an update that fails its health gate is rolled back by itself", () => {
  const defer = deferCleanups();

  const rig = (): Promise<Rig> => startUpdateRig(defer);

  /** Updates to 1.1.0 (with this behaviour), restarts like systemctl, and waits for the outcome. */
  async function updateTo(r: Rig, behaviour: ReleaseBehaviour): Promise<void> {
    const { archive, manifest } = await r.release("1.1.0", behaviour);
    const applied = r.update(archive, manifest);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/switched to 1\.1\.0 \(last good: 1\.0\.0\)/);
    await r.supervisor.restart();
  }

  async function expectRolledBack(r: Rig, reason: RegExp): Promise<void> {
    const state = await waitFor(() => {
      const s = readState(r.home);
      return s?.phase === "rolled-back" ? s : undefined;
    }, "the rollback", 30_000);
    expect(state).toMatchObject({ current: "1.0.0", failed: "1.1.0", target: null });
    expect(state.reason).toMatch(reason);
    expect(currentRelease(r.home)).toBe("1.0.0");
    // The previous release runs again and tells the gateway what failed.
    const report = await waitFor(async () => {
      const u = await r.report();
      return u?.phase === "rolled-back" ? u : undefined;
    }, "the rollback reported to the gateway", 30_000);
    expect(report).toMatchObject({ current: "1.0.0", failed: "1.1.0" });
    expect(r.supervisor.logs().filter((l) => l.msg === "release started").at(-1)).toMatchObject({ version: "1.0.0" });
  }

  it("a good release, signed with sos release keygen/sign, is installed, switched, confirmed, and old releases are pruned", async () => {
    const r = await rig();
    mkdirSync(join(r.home, "releases", "0.9.0"));
    const keys = join(r.system.dir, "keys");
    execFileSync(process.execPath, [SOS_BIN, "release", "keygen", "--out", keys]);
    writeFileSync(join(r.home, "release-signing.pub"), readFileSync(join(keys, "release-signing.pub")));
    const { archive } = await r.release("1.1.0", "good");
    execFileSync(process.execPath, [SOS_BIN, "release", "sign", archive, "--key", join(keys, "release-signing.key"), "--version", "1.1.0"]);
    expect(r.update(archive, `${archive}.sig.json`).status).toBe(0);
    await r.supervisor.restart();

    const state = await waitFor(() => {
      const s = readState(r.home);
      return s?.phase === "confirmed" && s.current === "1.1.0" ? s : undefined;
    }, "the new release confirmed", 30_000);
    expect(state).toMatchObject({ previous: "1.0.0", target: null, failed: null });
    expect(currentRelease(r.home)).toBe("1.1.0");
    // Pruned right after the confirmation: the running release and the last good one stay.
    await waitFor(() => readdirSync(join(r.home, "releases")).sort().join() === "1.0.0,1.1.0", "0.9.0 pruned");
    await waitFor(async () => (await r.report())?.current === "1.1.0", "1.1.0 reported to the gateway", 30_000);
    expect(kioskRow(r)).toMatch(/\s1\.1\.0$/);
  });

  it("a release that crashes at start is rolled back after a few starts (crash loop)", async () => {
    const r = await rig();
    await updateTo(r, "crash");
    await expectRolledBack(r, /crash loop/);
    expect(r.supervisor.guardLines.filter((l) => l.includes("trying 1.1.0")).length).toBe(3);
    expect(kioskRow(r)).toMatch(/\s1\.0\.0 \(1\.1\.0 rolled back\)$/);
  });

  it("a release that cannot connect is rolled back at its health gate's deadline", async () => {
    const r = await rig();
    await updateTo(r, "no-connect");
    await expectRolledBack(r, /not connected to the gateway/);
  });

  it("a release whose button self-test fails is rolled back at once", async () => {
    const r = await rig();
    await updateTo(r, "stuck-button");
    await expectRolledBack(r, /button self-test failed/);
  });

  it("a power cut at every step of the switch ends on the previous release", async () => {
    const r = await rig();
    const { archive, manifest } = await r.release("1.1.0", "good");
    const publicKey = join(r.home, "release-signing.pub");
    for (const step of ["verified", "unpacked", "switching", "switched", "trying"] as const) {
      const bootId = readFileSync(join(r.system.dir, "boot_id"), "utf8").trim();
      const cut = spawnSync(process.execPath, [join(REPO_ROOT, "dist/test/fixtures/apply-until-power-cut.js"), r.home, archive, manifest, publicKey, step, bootId], { encoding: "utf8" });
      expect(cut.signal, `${step}: ${cut.stderr}`).toBe("SIGKILL");
      const startsBefore = r.supervisor.starts;
      await r.supervisor.powerCut();
      expect(r.supervisor.starts).toBe(startsBefore + 1);
      expect(currentRelease(r.home), step).toBe("1.0.0");
      const state = readState(r.home);
      expect(state?.current, step).toBe("1.0.0");
      expect(state?.phase, step).toBe(step === "verified" || step === "unpacked" ? "confirmed" : "rolled-back");
      await waitFor(() => r.supervisor.logs().filter((l) => l.msg === "button armed").length >= r.supervisor.starts, `${step}: the agent armed again`, 30_000);
    }
    expect(r.supervisor.logs().filter((l) => l.msg === "release started").map((l) => l.version)).toEqual(["1.0.0", "1.0.0", "1.0.0", "1.0.0", "1.0.0", "1.0.0"]);
  });

  it("a bad signature or digest is refused before anything is unpacked", async () => {
    const r = await rig();
    const before = readdirSync(join(r.home, "releases")).sort();
    const stateBefore = readFileSync(join(r.home, "update/state.json"), "utf8");

    const forged = await makeRelease(r.system.dir, PATHS, "1.1.0", "good", generateReleaseKeys().privateKeyPem);
    const bySomeoneElse = r.update(forged.archive, forged.manifest);
    expect(bySomeoneElse.status).toBe(1);
    expect(bySomeoneElse.stderr).toBe("sos: release 1.1.0: the signature does not match this kiosk's release key (a tampered manifest, or signed with another key)\n");

    const { archive, manifest } = await r.release("1.1.0", "good");
    writeFileSync(archive, Buffer.concat([readFileSync(archive), Buffer.from([0])]));
    const damaged = r.update(archive, manifest);
    expect(damaged.status).toBe(1);
    expect(damaged.stderr).toMatch(/^sos: release 1\.1\.0: the archive's digest does not match its signed manifest/);

    expect(readdirSync(join(r.home, "releases")).sort()).toEqual(before);
    expect(readFileSync(join(r.home, "update/state.json"), "utf8")).toBe(stateBefore);
    expect(currentRelease(r.home)).toBe("1.0.0");
  });

  it("a press during the update reaches dispatch once", async () => {
    const r = await rig();
    r.supervisor.press();
    const recorded = await waitFor(() => r.supervisor.logs().find((l) => l.msg === "alert recorded"), "the press on disk");
    await updateTo(r, "good");
    await waitFor(() => readState(r.home)?.current === "1.1.0", "the new release confirmed", 30_000);
    await waitFor(() => r.system.receiver.deliveredIds().has(recorded.alertId as string), "the alarm at dispatch", 30_000);
    await waitFor(() => readdirSync(join(r.home, "data/outbox")).filter((f) => f.endsWith(".alert.json")).length === 0, "the outbox emptied", 30_000);
    expect(r.system.receiver.requests.filter((q) => q.body.alertId === recorded.alertId && q.body.kind === "sos")).toHaveLength(1);
  });
});

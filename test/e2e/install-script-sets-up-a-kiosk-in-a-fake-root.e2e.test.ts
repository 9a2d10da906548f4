/**
 * deploy/install.sh against a fake root (--root DIR): the agent folder with its `current` symlink,
 * the data folder, the update guard outside the releases, the systemd units, udev rules, the
 * hardware watchdog and journald limits; what would change the running system is printed, not run.
 * The unit files pass `systemd-analyze verify` and stay hardened (`systemd-analyze security`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readState } from "../../device/update/update-state.js";
import { REPO_ROOT, tempDir } from "../integration/harness.js";

/** A release folder as the release build lays it out (only the files install.sh and the guard use). */
function fakeRelease(dir: string, version: string): string {
  const release = join(dir, `sos-kiosk-${version}`);
  mkdirSync(join(release, "dist/scripts"), { recursive: true });
  cpSync(join(REPO_ROOT, "dist/device/update"), join(release, "dist/device/update"), { recursive: true });
  writeFileSync(join(release, "dist/scripts/sos.js"), "// the CLI\n");
  cpSync(join(REPO_ROOT, "deploy"), join(release, "deploy"), { recursive: true });
  writeFileSync(join(release, "release.json"), JSON.stringify({ version }, null, 2));
  writeFileSync(join(release, "deploy/release-signing.pub"), "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n");
  return release;
}

describe("install.sh sets up a kiosk in a fake root", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.reverse()) c();
    cleanups.length = 0;
  });

  it("installs the agent, data folder, guard, units, udev rules, watchdog and journald limits; runs nothing on the live system", () => {
    if (!existsSync(join(REPO_ROOT, "dist/device/update/guard.js"))) throw new Error("run 'npm run build' first (npm test does)");
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const root = join(dir.path, "root");
    mkdirSync(root);
    const release = fakeRelease(dir.path, "1.4.0");
    const install = (): string => execFileSync("sh", [join(release, "deploy/install.sh"), "--root", root, "--data-device", "/dev/mmcblk0p3"], { encoding: "utf8" });

    const out = install();
    const home = join(root, "var/lib/sos-kiosk");
    expect(readlinkSync(join(home, "current"))).toBe("releases/1.4.0");
    expect(existsSync(join(home, "current/dist/scripts/sos.js"))).toBe(true);
    expect(statSync(join(home, "data")).mode & 0o777).toBe(0o700);
    expect(readState(home)).toMatchObject({ v: 1, phase: "confirmed", current: "1.4.0", target: null });
    for (const unit of ["sos-kiosk.service", "sos-kiosk-rollback.service"]) {
      expect(readFileSync(join(root, "etc/systemd/system", unit), "utf8")).toBe(readFileSync(join(REPO_ROOT, "deploy/systemd", unit), "utf8"));
    }
    expect(readFileSync(join(root, "etc/systemd/system.conf.d/50-sos-watchdog.conf"), "utf8")).toMatch(/^RuntimeWatchdogSec=15s$/m);
    expect(readFileSync(join(root, "etc/systemd/journald.conf.d/50-sos.conf"), "utf8")).toMatch(/^SystemMaxUse=64M$/m);
    expect(readFileSync(join(root, "etc/udev/rules.d/90-sos-kiosk.rules"), "utf8")).toMatch(/ID_MM_DEVICE_IGNORE/);
    expect(readFileSync(join(root, "etc/fstab"), "utf8")).toMatch(/^\/dev\/mmcblk0p3\t\/var\/lib\/sos-kiosk\text4\tdefaults,noatime/m);
    expect(readFileSync(join(home, "release-signing.pub"), "utf8")).toContain("BEGIN PUBLIC KEY");
    expect(readFileSync(join(root, "usr/local/bin/sos"), "utf8")).toContain("/var/lib/sos-kiosk/current/dist/scripts/sos.js");
    expect(out).toContain("would run: useradd --system --home-dir /var/lib/sos-kiosk");
    expect(out).toContain("would run: systemctl enable sos-kiosk.service");
    expect(out).toContain("would run: udevadm control --reload-rules");
    expect(out).toContain("would run: mount /var/lib/sos-kiosk");

    // The guard copy runs on its own, outside the release (a broken release cannot break it).
    const guard = execFileSync(process.execPath, [join(root, "opt/sos-kiosk/guard/guard.js"), "start", "--home", home], { encoding: "utf8" });
    expect(guard.trim()).toBe("sos-kiosk update guard: on 1.4.0 (confirmed)");

    // Again: the same result, the fstab line once.
    install();
    expect(readFileSync(join(root, "etc/fstab"), "utf8").match(/sos-kiosk/g)).toHaveLength(1);
    expect(readlinkSync(join(home, "current"))).toBe("releases/1.4.0");
  });

  it("refuses a folder that is not a release, saying so in one line", () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    cpSync(join(REPO_ROOT, "deploy"), join(dir.path, "deploy"), { recursive: true });
    const r = spawnSync("sh", [join(dir.path, "deploy/install.sh"), "--root", join(dir.path, "root")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("install.sh: no dist/scripts/sos.js next to this script: run it from an unpacked release archive");
  });

  it("the unit files pass systemd-analyze verify and stay hardened", () => {
    const units = ["sos-kiosk.service", "sos-kiosk-rollback.service", "sos-gateway.service"].map((u) => join(REPO_ROOT, "deploy/systemd", u));
    const verify = spawnSync("systemd-analyze", ["verify", "--man=no", ...units], { encoding: "utf8" });
    if (verify.error !== undefined) throw new Error(`systemd-analyze is not installed (Debian: package systemd): ${verify.error.message}`);
    expect({ status: verify.status, stderr: verify.stderr.trim() }).toEqual({ status: 0, stderr: "" });
    for (const unit of [units[0], units[2]] as string[]) {
      // Exposure (×10 in --threshold): 0 locked down .. 100 unprotected; the units score 32-38 today.
      const security = spawnSync("systemd-analyze", ["security", "--offline=true", "--threshold=45", "--no-pager", unit], { encoding: "utf8" });
      expect(security.status, security.stdout.split("\n").slice(-3).join("\n")).toBe(0);
    }
    const kiosk = readFileSync(units[0] as string, "utf8");
    for (const line of ["Type=notify", "NotifyAccess=all", "WatchdogSec=20", "Restart=always", "OnFailure=sos-kiosk-rollback.service", "User=sos-kiosk", "ProtectSystem=strict", "CapabilityBoundingSet=", "NoNewPrivileges=yes"]) {
      expect(kiosk.split("\n")).toContain(line);
    }
    expect(kiosk.split("\n").filter((l) => l.startsWith("ReadWritePaths="))).toEqual(["ReadWritePaths=/var/lib/sos-kiosk"]);
    // The gateway speaks sd_notify too (gateway/service/systemd.ts), through the systemd-notify child.
    const gateway = readFileSync(units[2] as string, "utf8").split("\n");
    for (const line of ["Type=notify", "NotifyAccess=all", "WatchdogSec=30", "Restart=always", "User=sos-gateway", "ProtectSystem=strict", "CapabilityBoundingSet=", "NoNewPrivileges=yes"]) {
      expect(gateway).toContain(line);
    }
    expect(gateway.filter((l) => l.startsWith("ReadWritePaths="))).toEqual(["ReadWritePaths=/var/lib/sos-gateway"]);
  });
});

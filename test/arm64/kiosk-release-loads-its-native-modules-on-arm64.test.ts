/**
 * The kiosk's release, built by `sos release build` and unpacked as a kiosk would, runs on the Pi's
 * CPU: under qemu-user with Node for arm64, each native module with an arm64 binary loads and works
 * (wrtc makes an offer, serialport lists ports), the agent's code loads as far as reading its config,
 * and what has no arm64 binary (onoff's epoll) fails exactly as docs/deploy-kiosk.md says.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateReleaseKeys, parseManifest, verifyRelease } from "../../shared/release.js";
import { KIOSK_DEPENDENCIES } from "../../scripts/lib/kiosk-dependencies.js";
import { tempDir } from "../integration/harness.js";
import { type Arm64, buildRelease, prepareArm64, probe, runArm64 } from "./arm64-rig.js";

const VERSION = "9.9.0-arm64";
/** The native packages with an arm64 binary that a test below loads: a new one must get a test. */
const LOADED = ["@roamhq/wrtc-linux-arm64", "@serialport/bindings-cpp"];

interface NativeEntry {
  name: string;
  ok: boolean;
  detail: string;
  reason?: string;
}

describe("the kiosk release loads its native modules on arm64", () => {
  let dir: { path: string; remove(): void };
  let arm64: Arm64;
  let release: string;

  beforeAll(async () => {
    arm64 = prepareArm64();
    dir = tempDir("sos-arm64-");
    const keys = generateReleaseKeys();
    const keyFile = join(dir.path, "release-signing.key");
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    const out = join(dir.path, "out");
    const built = buildRelease(out, VERSION, keyFile);
    if (built.code !== 0) throw new Error(`sos release build failed (${built.code}): ${built.stderr}${built.stdout}`);
    const archive = join(out, `sos-kiosk-${VERSION}-linux-arm64.tar.gz`);
    // The kiosk's own check before it unpacks anything.
    await verifyRelease(archive, parseManifest(readFileSync(`${archive}.sig.json`, "utf8"), "manifest"), keys.publicKeyPem);
    release = join(dir.path, "release");
    mkdirSync(release);
    execFileSync("tar", ["-xzf", archive, "-C", release]);
  });
  afterAll(() => dir?.remove());

  it("holds the kiosk's modules, install script and dependencies, none of the gateway's", () => {
    const meta = JSON.parse(readFileSync(join(release, "release.json"), "utf8")) as { version: string; platform: string };
    expect(meta).toMatchObject({ version: VERSION, platform: "linux-arm64" });
    for (const path of ["dist/scripts/sos.js", "dist/device/update/guard.js", "dist/device/media/wrtc/child.js", "deploy/install.sh", "deploy/release-signing.pub", "device/prompts/ru"]) {
      expect(existsSync(join(release, path)), path).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(release, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...KIOSK_DEPENDENCIES].sort());
    const installed = readdirSync(join(release, "node_modules"));
    for (const gatewayOnly of ["aedes", "better-sqlite3", "postgres", "ioredis", "mqemitter-redis", "prom-client", "csv-parse"]) expect(installed).not.toContain(gatewayOnly);
    expect(existsSync(join(release, "dist/gateway/broker"))).toBe(false);
    expect(readdirSync(join(release, "node_modules/@roamhq"))).not.toContain("wrtc-linux-x64");
    // A gateway command on a kiosk: one line saying where to run it.
    const gateway = spawnSync(process.execPath, [join(release, "dist/scripts/sos.js"), "gateway", "--data-dir", dir.path], { encoding: "utf8" });
    expect(gateway.status).toBe(1);
    expect(gateway.stderr).toBe("sos: this is a kiosk's release, with only the kiosk's commands (enroll, kiosk, kiosk selftest|doctor|update): run this one at the gateway or from a checkout (no commands/gateway.js here)\n");
  });

  it("loads every native module that has an arm64 binary in a test below", () => {
    const native = (JSON.parse(readFileSync(join(release, "release.json"), "utf8")) as { native: NativeEntry[] }).native;
    expect(native.filter((n) => n.detail.startsWith("arm64 binary")).map((n) => n.name).sort()).toEqual([...LOADED].sort());
    // The rest are let through only with a written reason.
    for (const n of native.filter((m) => !m.detail.startsWith("arm64 binary"))) expect(n.reason?.length ?? 0, `${n.name}: no reason`).toBeGreaterThan(40);
  });

  it("wrtc: an RTCPeerConnection makes an offer", async () => {
    const r = await probe(arm64, release, "wrtc", `
      const { RTCPeerConnection } = require("@roamhq/wrtc");
      const pc = new RTCPeerConnection();
      pc.createDataChannel("probe");
      pc.createOffer().then((offer) => { out({ type: offer.type, sdp: offer.sdp.slice(0, 4) }); pc.close(); }, (err) => { console.error(err); process.exitCode = 1; pc.close(); });`);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ arch: "arm64", type: "offer", sdp: "v=0\r" });
    expect(r.code).toBe(0);
  });

  it("serialport: list() answers with its arm64 binding", async () => {
    const r = await probe(arm64, release, "serialport", `
      const { SerialPort } = require("serialport");
      SerialPort.list().then((ports) => out({ list: Array.isArray(ports) }), (err) => { console.error(err); process.exitCode = 1; });`);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ arch: "arm64", list: true });
  });

  it("the agent's code loads as far as reading its config (`sos kiosk`), and `sos --help` runs", async () => {
    const missing = join(dir.path, "no-such-kiosk.json");
    const kiosk = await runArm64(arm64, ["dist/scripts/sos.js", "kiosk", "--config", missing], release);
    expect(kiosk.code).toBe(1);
    expect(kiosk.stderr.trim().split("\n")).toHaveLength(1);
    expect(kiosk.stderr).toContain(missing);
    expect(kiosk.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    const help = await runArm64(arm64, ["dist/scripts/sos.js", "--help"], release);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("enroll");
  });

  it("johnny-five (the Firmata board) loads without serialport 8's binding", async () => {
    const r = await runArm64(arm64, ["--input-type=module", "-e", `await import("./dist/device/inputs/firmata/board.js"); await import("firmata-io"); console.log(process.arch);`], release);
    expect(r.stderr).not.toMatch(/Cannot find|bindings/);
    expect(r.stdout.trim().split("\n")[0]).toBe("arm64");
  });

  it("onoff cannot load until its epoll addon is compiled on the Pi (the `gpio` drivers; `gpiod` needs none)", async () => {
    const r = await probe(arm64, release, "onoff", `try { require("onoff"); out({ loaded: true }); } catch (err) { out({ loaded: false, error: String(err.message).split("\\n")[0] }); }`);
    const result = JSON.parse(r.stdout) as { loaded: boolean; error?: string };
    expect(result.loaded).toBe(false);
    expect(result.error).toMatch(/bindings file|epoll\.node/);
  });
});

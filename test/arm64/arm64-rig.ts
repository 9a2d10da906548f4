/**
 * Runs the kiosk's release as a Pi would, on this x64 machine: arm64 Node under qemu-user
 * (`qemu-aarch64-static -L SYSROOT node …`), with what scripts/arm64-sysroot.sh prepares (cached in
 * $SOS_ARM64_CACHE, default /var/cache/sos-arm64). Nothing is skipped: when qemu, Node for arm64 or
 * the sysroot cannot be prepared, prepareArm64() throws saying what is missing, and the tests fail.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, SOS_BIN } from "../integration/harness.js";

export interface Arm64 {
  readonly qemu: string;
  readonly sysroot: string;
  readonly node: string;
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Prepares (or finds in the cache) qemu, Node for arm64 and the sysroot; throws with the reason. */
export function prepareArm64(): Arm64 {
  const script = join(REPO_ROOT, "scripts/arm64-sysroot.sh");
  const r = spawnSync("bash", [script], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(`cannot prepare the arm64 runtime (scripts/arm64-sysroot.sh exited ${r.status ?? r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")} — CI installs qemu-user-static and the sysroot (.ci/run)`);
  }
  const cache = r.stdout.trim().split("\n").pop() ?? "";
  const nodeDir = readdirSync(cache).find((n) => n.startsWith("node-"));
  const arm64 = { qemu: "qemu-aarch64-static", sysroot: join(cache, "sysroot"), node: join(cache, nodeDir ?? "node-missing", "bin/node") };
  if (!existsSync(arm64.node)) throw new Error(`no arm64 node in ${cache} after scripts/arm64-sysroot.sh`);
  return arm64;
}

/** `node ARGS` for arm64 under qemu, in `cwd`; resolves when it exits (killed after timeoutMs). */
export function runArm64(a: Arm64, args: readonly string[], cwd: string, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(a.qemu, ["-L", a.sysroot, a.node, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Writes a CommonJS probe into the release folder (so require() finds its node_modules) and runs it. */
export function probe(a: Arm64, release: string, name: string, body: string): Promise<Run> {
  const dir = join(release, ".probes");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.cjs`);
  // wrtc segfaults in Node's exit cleanup (node-webrtc#636): leave with the code we chose.
  writeFileSync(file, `"use strict";\nprocess.on("exit", (code) => process.exit(code));\nconst out = (v) => process.stdout.write(JSON.stringify({ arch: process.arch, ...v }) + "\\n");\n${body}\n`);
  return runArm64(a, [file], release);
}

/** Builds, with the real CLI, a signed release for arm64 from dist/ into `out`. */
export function buildRelease(out: string, version: string, keyFile: string): Run {
  const r = spawnSync(process.execPath, [SOS_BIN, "release", "build", "--version", version, "--key", keyFile, "--out", out, "--arch", "arm64"], { encoding: "utf8", timeout: 600_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

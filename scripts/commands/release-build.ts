/**
 * `sos release build --version V --key FILE --out DIR [--arch arm64]`: the kiosk agent's release
 * archive, signed. From the build (dist/): the modules a kiosk runs (scripts/lib/kiosk-files.ts),
 * the voice prompts, deploy/ (install.sh, units, udev, the release public key) and the kiosk's docs;
 * a package.json holding only the kiosk's dependencies (scripts/lib/kiosk-dependencies.ts),
 * installed for linux-ARCH with `npm install --omit=dev --os=linux --cpu=ARCH --ignore-scripts`
 * (install scripts would build for this machine's CPU). Every native package must carry a Linux
 * binary for ARCH or be listed with its reason; then the folder is packed as
 * sos-kiosk-V-linux-ARCH.tar.gz (release.json at its top, as `sos kiosk update` expects) and signed
 * (ARCHIVE.sig.json).
 */
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { releaseVersionSchema, signRelease } from "../../shared/release.js";
import { KIOSK_DEPENDENCIES, NATIVE_WITHOUT_PREBUILT_BINARY } from "../lib/kiosk-dependencies.js";
import { kioskGraph } from "../lib/kiosk-files.js";
import { checkArch, findNativePackages, type ArchVerdict } from "../lib/native-modules.js";
import { REPO_ROOT } from "../lib/repo-root.js";
import { makeDir } from "../../shared/make-dir.js";

export const RELEASE_ARCHES = ["arm64", "x64"] as const;
const PUBLIC_KEY_FILE = "release-signing.pub";
/** What a kiosk reads besides its modules: install script, units, rules, and the pages the unit links. */
const DEPLOY_FILES = ["deploy", "docs/deploy-kiosk.md", "docs/wiring.md", "docs/wiring-pi.svg", "device/prompts"];

const invalid = (message: string): SosError => new SosError(ErrorCode.ArgumentInvalid, message);

export interface BuildResult {
  readonly archive: string;
  readonly manifest: string;
  readonly native: readonly ArchVerdict[];
  readonly seconds: Readonly<Record<"copy" | "install" | "check" | "pack", number>>;
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((ok, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (t: Buffer): void => void (out = (out + t.toString("utf8")).slice(-4_000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? ok() : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${out.trim()}`))));
  });
}

/** The kiosk's package.json: its dependencies at the versions the project pins; epoll may build on the Pi (install.sh). */
function kioskPackageJson(version: string): object {
  const root = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines?: object; dependencies?: Record<string, string> };
  const dependencies: Record<string, string> = {};
  for (const name of KIOSK_DEPENDENCIES) {
    const range = root.dependencies?.[name];
    if (range === undefined) throw invalid(`the kiosk dependency ${name} is not in package.json's dependencies`);
    dependencies[name] = range;
  }
  return { name: "sos-kiosk", version, private: true, type: "module", description: "SOS kiosk agent (release)", engines: root.engines, bin: { sos: "dist/scripts/sos.js" }, dependencies, allowScripts: { epoll: true } };
}

/** One line naming each native package without a binary for `arch`, and what to do. */
export function nativeFailure(verdicts: readonly ArchVerdict[], arch: string): string | null {
  const failed = verdicts.filter((v) => !v.ok);
  if (failed.length === 0) return null;
  return `release build: native module(s) without a linux-${arch} binary: ${failed.map((f) => `${f.name}: ${f.detail}`).join("; ")} — use a package with a prebuilt ${arch} binary, or list it with the reason it is not needed in scripts/lib/kiosk-dependencies.ts`;
}

/**
 * A release's folder before its dependencies are installed: the kiosk's modules from dist/, deploy/
 * with the release key's public half, the docs and prompts, package.json (with `version`, which the
 * agent reports: shared/agent-version.ts) and the lock file.
 */
export function stageRelease(staging: string, modules: readonly string[], version: string, publicKeyPem: string): void {
  const dist = join(REPO_ROOT, "dist");
  rmSync(staging, { recursive: true, force: true });
  for (const module of modules) {
    makeDir(dirname(join(staging, "dist", module)));
    copyFileSync(join(dist, module), join(staging, "dist", module));
  }
  for (const path of DEPLOY_FILES) if (existsSync(join(REPO_ROOT, path))) cpSync(join(REPO_ROOT, path), join(staging, path), { recursive: true });
  makeDir(join(staging, "deploy"));
  writeFileSync(join(staging, "deploy", PUBLIC_KEY_FILE), publicKeyPem);
  writeFileSync(join(staging, "package.json"), `${JSON.stringify(kioskPackageJson(version), null, 2)}\n`);
  // The project's lock file: npm keeps the versions tested here and drops what the kiosk does not use.
  copyFileSync(join(REPO_ROOT, "package-lock.json"), join(staging, "package-lock.json"));
}

/** release.json, at the release's top: its version (the one the agent reports), platform and native verdicts. */
export function writeReleaseJson(staging: string, version: string, arch: string, native: readonly ArchVerdict[]): void {
  const release = { version, platform: `linux-${arch}`, builtAt: new Date().toISOString(), dependencies: KIOSK_DEPENDENCIES, native };
  writeFileSync(join(staging, "release.json"), `${JSON.stringify(release, null, 2)}\n`);
}

export async function buildRelease(opts: { version: string; keyPem: string; out: string; arch: string; keepStaging?: boolean }): Promise<BuildResult> {
  const { arch, out } = opts;
  const parsed = releaseVersionSchema.safeParse(opts.version);
  if (!parsed.success) throw invalid(`--version ${opts.version}: ${parsed.error.issues[0]?.message ?? "not a release version"}`);
  const version = parsed.data;
  const dist = join(REPO_ROOT, "dist");
  if (!existsSync(join(dist, "scripts/sos.js"))) throw invalid(`no build in ${dist}: run 'npm run build' first`);
  let publicKeyPem: string;
  try {
    publicKeyPem = createPublicKey(createPrivateKey(opts.keyPem)).export({ type: "spki", format: "pem" }).toString();
  } catch {
    throw invalid("the release key is not a private key in PEM (make one with 'sos release keygen')");
  }
  let last = Date.now();
  /** Seconds since the previous lap. */
  const lap = (): number => {
    const now = Date.now();
    const seconds = (now - last) / 1000;
    last = now;
    return seconds;
  };

  const graph = kioskGraph(dist, ".js");
  const unlisted = [...graph.packages.keys()].filter((p) => !KIOSK_DEPENDENCIES.includes(p)).sort();
  if (unlisted.length > 0) {
    throw invalid(`release build: the kiosk imports ${unlisted.map((p) => `${p} (${graph.packages.get(p)?.[0] ?? "?"})`).join(", ")}, not in KIOSK_DEPENDENCIES (scripts/lib/kiosk-dependencies.ts)`);
  }
  const name = `sos-kiosk-${version}-linux-${arch}`;
  makeDir(out);
  const staging = join(out, `.staging-${name}`);
  stageRelease(staging, graph.modules, version, publicKeyPem);
  const copy = lap();

  await run("npm", ["install", "--omit=dev", "--os=linux", `--cpu=${arch}`, "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], staging).catch((err: unknown) => {
    throw new SosError(ErrorCode.ReleaseInvalid, `release build: npm install for linux-${arch} failed: ${(err as Error).message}`);
  });
  const install = lap();

  const native = checkArch(findNativePackages(staging), arch, new Set(Object.keys(NATIVE_WITHOUT_PREBUILT_BINARY)));
  const failure = nativeFailure(native, arch);
  if (failure !== null) {
    if (opts.keepStaging !== true) rmSync(staging, { recursive: true, force: true });
    throw new SosError(ErrorCode.ReleaseInvalid, failure);
  }
  // Each module let through without a binary carries its reason into release.json and the output.
  const withReasons = native.map((v) => {
    const reason = v.detail.startsWith(`${arch} binary`) ? undefined : NATIVE_WITHOUT_PREBUILT_BINARY[v.name];
    return reason === undefined ? v : { ...v, reason };
  });
  const check = lap();

  writeReleaseJson(staging, version, arch, withReasons);
  const archive = resolve(out, `${name}.tar.gz`);
  await run("tar", ["-czf", archive, "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-C", staging, "."], out);
  const manifest = await signRelease(archive, `${name}.tar.gz`, version, opts.keyPem);
  const manifestPath = `${archive}.sig.json`;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  if (opts.keepStaging !== true) rmSync(staging, { recursive: true, force: true });
  return { archive, manifest: manifestPath, native: withReasons, seconds: { copy, install, check, pack: lap() } };
}

/** The CLI's side: reads the key, builds, prints what was built and which native modules it holds. */
export async function runBuild(opts: { version?: unknown; key?: unknown; out?: unknown; arch?: unknown; keepStaging?: unknown }): Promise<void> {
  const arch = typeof opts.arch === "string" ? opts.arch : "arm64";
  if (!(RELEASE_ARCHES as readonly string[]).includes(arch)) throw invalid(`--arch ${arch}: one of ${RELEASE_ARCHES.join(", ")} (a Pi 4/5 with a 64-bit OS is arm64)`);
  let keyPem: string;
  try {
    keyPem = readFileSync(String(opts.key), "utf8");
  } catch (err) {
    throw invalid(`cannot read the release key ${String(opts.key)}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (make one with 'sos release keygen')`);
  }
  const r = await buildRelease({ version: String(opts.version), keyPem, out: String(opts.out), arch, keepStaging: opts.keepStaging === true });
  for (const v of r.native) process.stdout.write(`native ${v.name}: ${v.detail}${"reason" in v ? ` — ${String(v.reason)}` : ""}\n`);
  const size = statSync(r.archive).size;
  const s = r.seconds;
  process.stdout.write(`built ${r.archive} (${(size / 1e6).toFixed(1)} MB; copy ${s.copy}s, npm install ${s.install}s, native check ${s.check}s, pack+sign ${s.pack}s)\nsigned: ${r.manifest}\n`);
}

/**
 * Which native modules a node_modules tree holds, and for which CPU: every package with a
 * binding.gyp or a *.node file, and the ELF machine of each *.node (read from its header). The
 * release build runs it over the production dependencies installed for the Pi
 * (`npm ci --omit=dev --os=linux --cpu=arm64`): a native package without an arm64 binary fails the
 * build, unless it is listed as built on the Pi or never loaded by the kiosk.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** ELF e_machine values. */
const MACHINES: Record<number, string> = { 0x03: "ia32", 0x28: "arm", 0x3e: "x64", 0xb7: "arm64" };

export interface NativeBinary {
  readonly path: string;
  /** "arm64", "x64", "arm", "ia32", "unknown" or "not-elf". */
  readonly arch: string;
}

export interface NativePackage {
  readonly name: string;
  readonly dir: string;
  /** Has a binding.gyp: built from source when no prebuilt binary fits. */
  readonly buildsFromSource: boolean;
  readonly binaries: readonly NativeBinary[];
}

export function elfArch(path: string): string {
  const header = Buffer.alloc(20);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, header, 0, 20, 0) < 20) return "not-elf";
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return "not-elf";
  const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  return MACHINES[machine] ?? "unknown";
}

function binariesUnder(dir: string, root: string, out: NativeBinary[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") binariesUnder(path, root, out);
    } else if (entry.isFile() && entry.name.endsWith(".node")) {
      // prebuilds/<os>-<arch>/: a binary for Android (also ELF) does not serve Linux.
      const prebuild = /(?:^|\/)prebuilds\/(([a-z0-9]+)-[^/]+)\//.exec(relative(root, path));
      const os = prebuild?.[2];
      out.push({ path: relative(root, path), arch: os === undefined || os === "linux" ? elfArch(path) : (prebuild?.[1] ?? "other-os") });
    }
  }
}

function packagesIn(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules).flatMap((name) => {
    if (name.startsWith(".")) return [];
    const path = join(nodeModules, name);
    if (name.startsWith("@")) return readdirSync(path).map((sub) => join(path, sub));
    return [path];
  });
}

/** Every native package in the tree (nested node_modules included). */
export function findNativePackages(root: string): NativePackage[] {
  const found: NativePackage[] = [];
  const visit = (nodeModules: string): void => {
    for (const dir of packagesIn(nodeModules)) {
      if (!statSync(dir).isDirectory() || !existsSync(join(dir, "package.json"))) continue;
      const name = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name ?? relative(nodeModules, dir);
      const binaries: NativeBinary[] = [];
      binariesUnder(dir, root, binaries);
      const buildsFromSource = existsSync(join(dir, "binding.gyp"));
      if (buildsFromSource || binaries.length > 0) found.push({ name, dir: relative(root, dir), buildsFromSource, binaries });
      visit(join(dir, "node_modules"));
    }
  };
  visit(join(root, "node_modules"));
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface ArchVerdict {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * A package passes with a binary for `arch`, or when `allowed` names it (built on the Pi, or never
 * loaded on the kiosk). A package with binaries for other CPUs only, or with only a binding.gyp, fails.
 */
export function checkArch(packages: readonly NativePackage[], arch: string, allowed: ReadonlySet<string>): ArchVerdict[] {
  return packages.map((p) => {
    const archs = [...new Set(p.binaries.map((b) => b.arch))].sort();
    if (archs.includes(arch)) return { name: p.name, ok: true, detail: `${arch} binary (${p.binaries.filter((b) => b.arch === arch).map((b) => b.path).join(", ")})` };
    const has = archs.length === 0 ? "no binary" : `binaries for ${archs.join(", ")} only`;
    if (allowed.has(p.name)) return { name: p.name, ok: true, detail: `${has}: allowed (built on the Pi or not loaded by the kiosk)` };
    return { name: p.name, ok: false, detail: `${has}${p.buildsFromSource ? " (binding.gyp: needs a compiler on the Pi or a cross build)" : ""}` };
  });
}

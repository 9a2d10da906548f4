/**
 * Which of the project's modules a kiosk runs, and which npm packages they import: every module
 * under device/ and shared/, `sos` itself with the kiosk's commands (KIOSK_COMMANDS), and whatever
 * those import. Works on the sources (.ts) and on the build (dist/, .js), so the release build and
 * the dependency test read the same graph.
 *
 * Static imports are followed everywhere; dynamic ones (`import("…")`) only from device/ and
 * shared/ (the agent's lazily loaded drivers), not from `sos` or the CLI's helpers, which load the
 * gateway's commands and stores lazily too.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, sep } from "node:path";
import { KIOSK_COMMANDS } from "./kiosk-dependencies.js";

const STATIC = /(?:^|[;\s}])(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
/** createRequire(import.meta.url)("pkg"): how the agent loads CommonJS addons such as wrtc. */
const REQUIRE = /createRequire\([^)]*\)\(\s*["']([^"']+)["']\s*\)/g;

const posix = (path: string): string => path.split(sep).join("/");

function filesUnder(root: string, dir: string, ext: string, out: string[]): void {
  if (!existsSync(join(root, dir))) return;
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = posix(join(dir, entry.name));
    if (entry.isDirectory()) filesUnder(root, path, ext, out);
    else if (entry.name.endsWith(ext) && !entry.name.endsWith(`.d${ext}`)) out.push(path);
  }
}

function specifiers(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((m) => m[1] ?? "");
}

export interface KioskGraph {
  /** The modules a kiosk runs, relative to the root (device/main.js, scripts/sos.js…), sorted. */
  readonly modules: readonly string[];
  /** npm package → the modules importing it. */
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

/** The package a bare specifier names ("@a/b/c" → "@a/b", "x/y" → "x"); null for node: builtins. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** The kiosk's module graph under `root`: the repository (ext ".ts") or dist/ (ext ".js"). */
export function kioskGraph(root: string, ext: ".ts" | ".js"): KioskGraph {
  const entries: string[] = [];
  filesUnder(root, "device", ext, entries);
  filesUnder(root, "shared", ext, entries);
  entries.push(`scripts/sos${ext}`, ...KIOSK_COMMANDS.map((c) => `scripts/commands/${c}${ext}`));
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const queue = [...entries];
  while (queue.length > 0) {
    const module = queue.pop() as string;
    if (seen.has(module)) continue;
    const full = join(root, module);
    if (!existsSync(full)) throw new Error(`${module} is imported by the kiosk but missing under ${root} (build first: npm run build)`);
    seen.add(module);
    const text = readFileSync(full, "utf8");
    const lazy = module.startsWith("device/") || module.startsWith("shared/");
    const found = [...specifiers(text, STATIC), ...specifiers(text, REQUIRE), ...(lazy ? specifiers(text, DYNAMIC) : [])];
    for (const spec of found) {
      if (spec.startsWith(".")) {
        const target = posix(normalize(join(dirname(module), spec)));
        if (target.endsWith(".json")) seen.add(target);
        else queue.push(ext === ".ts" ? target.replace(/\.js$/, ".ts") : target);
        continue;
      }
      const name = packageOf(spec);
      if (name === null || name.length === 0) continue;
      const users = packages.get(name) ?? [];
      if (!users.includes(module)) users.push(module);
      packages.set(name, users);
    }
  }
  return { modules: [...seen].sort(), packages };
}

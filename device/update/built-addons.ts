/**
 * Native addons compiled on the kiosk itself, because no prebuilt binary exists: onoff's epoll (the
 * sysfs `gpio` drivers; deploy/install.sh builds it, docs/deploy-kiosk.md §6). A release carries
 * their source only, so an update takes the running release's build of the same package version
 * (same Node on the same Pi); without it, a kiosk on the `gpio` drivers could not start the new
 * release and would roll it back.
 */
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const BUILT_ON_THE_KIOSK: readonly string[] = ["epoll"];

function versionOf(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Copies each addon's build/ from release `from` into release `to` where `to` lacks one; returns their names. */
export function carryBuiltAddons(from: string, to: string, names: readonly string[] = BUILT_ON_THE_KIOSK): string[] {
  const carried: string[] = [];
  for (const name of names) {
    const source = join(from, "node_modules", name);
    const target = join(to, "node_modules", name);
    if (!existsSync(join(source, "build", "Release")) || existsSync(join(target, "build", "Release"))) continue;
    const version = versionOf(target);
    if (version === null || version !== versionOf(source)) continue;
    cpSync(join(source, "build"), join(target, "build"), { recursive: true });
    carried.push(name);
  }
  return carried;
}

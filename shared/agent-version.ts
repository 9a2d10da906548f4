/**
 * The version of the software this process runs: in a release, the version `sos release build`
 * wrote into its release.json (and package.json) at the release's top, above dist/; in a checkout,
 * package.json's. Found upwards from this module and read once, on first use: a few stat calls and
 * two small files, nothing imported (it is read before the button is armed).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** When neither file gives a version (a damaged release): the agent runs, and says so. */
export const UNKNOWN_VERSION = "unknown";

/** The contract's agentVersion is a string of at most 64 characters. */
function versionIn(file: string): string | undefined {
  try {
    const { version } = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown };
    return typeof version === "string" && version.length > 0 && version.length <= 64 ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The version of the release (or checkout) holding `from`: the first folder upwards with a
 * package.json or a release.json; release.json's version first, package.json's after.
 */
export function readAgentVersion(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const release = join(dir, "release.json");
    const pkg = join(dir, "package.json");
    if (existsSync(release) || existsSync(pkg)) return versionIn(release) ?? versionIn(pkg) ?? UNKNOWN_VERSION;
    if (dirname(dir) === dir) return UNKNOWN_VERSION;
  }
}

let cached: string | undefined;

/** This process's version, read once. */
export function agentVersion(): string {
  cached ??= readAgentVersion(import.meta.dirname);
  return cached;
}

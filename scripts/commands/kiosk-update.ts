/**
 * `sos kiosk update --config kiosk.json --archive FILE [--manifest FILE.sig.json]`: installs a
 * signed release on this kiosk beside the running one and switches `current` to it (run it as the
 * agent's user: sudo -u sos-kiosk sos kiosk update …). Then restart the agent; the new release must
 * pass its health gate, or it is rolled back by itself.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { applyRelease } from "../../device/update/apply.js";
import { homeOwnerName } from "../../device/update/update-state.js";
import { loadKioskConfig } from "../../shared/config/kiosk.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { parseManifest } from "../../shared/release.js";

export interface UpdateOptions {
  config?: unknown;
  archive?: unknown;
  manifest?: unknown;
  updateHome?: unknown;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new SosError(ErrorCode.ArgumentInvalid, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}

/**
 * Run as root over a home that is the kiosk user's, the update would leave root's files there
 * (update/state.json 0600, the release): the agent could not read its update state, and the new
 * release would run with no health gate and no rollback. Refused, with the command to run instead.
 */
function refuseRoot(home: string): void {
  if (process.geteuid?.() !== 0) return;
  let owner: number;
  try {
    owner = statSync(home).uid;
  } catch {
    return; // applyRelease says what is wrong with the home
  }
  if (owner === 0) return;
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  throw new SosError(
    ErrorCode.UpdateRefused,
    `sos kiosk update runs as the kiosk's user, not root (files root writes in ${home} would leave the agent without its update state, its health gate and its rollback): sudo -u ${homeOwnerName(home)} sos ${args.join(" ")}`,
  );
}

export async function run(opts: UpdateOptions): Promise<void> {
  const config = loadKioskConfig(String(opts.config));
  const home = typeof opts.updateHome === "string" ? resolve(opts.updateHome) : config.update.home;
  if (home === undefined) throw new SosError(ErrorCode.UpdateRefused, `no update home: give --update-home /var/lib/sos-kiosk (where deploy/install.sh put the releases), or set update.home in ${String(opts.config)}`);
  refuseRoot(home);
  const archive = String(opts.archive);
  const manifestPath = typeof opts.manifest === "string" ? opts.manifest : `${archive}.sig.json`;
  const manifest = parseManifest(read(manifestPath, "the release manifest"), manifestPath);
  const publicKeyPem = read(config.update.publicKey, "the release public key");
  const state = await applyRelease({
    home,
    archive,
    manifest,
    publicKeyPem,
    gateDeadlineMs: config.update.gateDeadlineS * 1_000,
    bootId: bootId(),
    now: () => new Date(),
    onStep: (step) => process.stdout.write(`update ${manifest.version}: ${step}\n`),
  });
  process.stdout.write(`switched to ${state.target ?? "?"} (last good: ${state.current}); restart the agent now: sudo systemctl restart sos-kiosk.service\n`);
}

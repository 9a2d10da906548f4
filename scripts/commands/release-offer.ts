/**
 * `sos release publish ARCHIVE --data-dir D`: keeps a signed release at the gateway (checked with
 * the release public key); `sos release offer VERSION`: sends it to kiosks over their commands topic.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { publishRelease, readPublished, RELEASES_DIR } from "../../gateway/releases/published.js";
import { SqliteStore } from "../../gateway/store/sqlite.js";
import { type Command, commandSchema } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { parseManifest } from "../../shared/release.js";
import { PUBLIC_KEY_FILE } from "./release.js";

/** `sos release publish ARCHIVE --data-dir D`: checks the release with the release public key and keeps it at the gateway. */
export async function runPublish(archive: string, opts: { dataDir?: unknown; manifest?: unknown; publicKey?: unknown }): Promise<void> {
  const dataDir = String(opts.dataDir);
  const manifestPath = typeof opts.manifest === "string" ? opts.manifest : `${archive}.sig.json`;
  const keyPath = typeof opts.publicKey === "string" ? opts.publicKey : join(dataDir, PUBLIC_KEY_FILE);
  const manifest = parseManifest(readText(manifestPath, "the release manifest (sos release sign writes ARCHIVE.sig.json)"), manifestPath);
  const publicKeyPem = readText(keyPath, `the release public key (copy ${PUBLIC_KEY_FILE} from 'sos release keygen' into the data folder, or give --public-key)`);
  if (!existsSync(archive)) throw new SosError(ErrorCode.ArgumentInvalid, `no archive at ${archive}`);
  const published = await publishRelease(dataDir, archive, manifest, publicKeyPem);
  process.stdout.write(`published release ${published.version} (${published.file}, ${published.size} bytes); offer it with 'sos release offer ${published.version} --data-dir ${dataDir} --release-url URL --kiosk ID'\n`);
}

export interface OfferOptions {
  dataDir?: unknown;
  releaseUrl?: unknown;
  kiosk?: unknown;
  region?: unknown;
  all?: unknown;
}

/**
 * `sos release offer VERSION`: queues install-release for the kiosks named (or a region, or all);
 * the running gateway sends it when each is connected, and again until it answers.
 */
export async function runOffer(version: string, opts: OfferOptions): Promise<void> {
  const dataDir = String(opts.dataDir);
  const manifest = readPublished(dataDir, version);
  if (manifest === undefined) throw new SosError(ErrorCode.ArgumentInvalid, `release ${version} is not published in ${dataDir}: 'sos release publish ARCHIVE --data-dir ${dataDir}' first`);
  const base = String(opts.releaseUrl).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/\s]+$/.test(base)) throw new SosError(ErrorCode.ArgumentInvalid, `--release-url must be the gateway's HTTP(S) address as kiosks reach it, like https://gw.example:8443 (got '${String(opts.releaseUrl)}')`);
  const url = `${base}/${RELEASES_DIR}/${encodeURIComponent(manifest.version)}/${manifest.file}`;
  const named = Array.isArray(opts.kiosk) ? (opts.kiosk as string[]) : [];
  const store = SqliteStore.open(dataDir, { mustExist: true });
  try {
    const kiosks = await store.listKiosks();
    let targets: string[];
    if (named.length > 0) {
      const known = new Set(kiosks.map((k) => k.kioskId));
      const unknown = named.filter((k) => !known.has(k));
      if (unknown.length > 0) throw new SosError(ErrorCode.KioskUnknown, `no kiosk ${unknown.join(", ")} in ${dataDir}: list them with 'sos kiosks --data-dir ${dataDir}'`);
      targets = named;
    } else if (typeof opts.region === "string") {
      targets = kiosks.filter((k) => k.region === opts.region).map((k) => k.kioskId);
    } else if (opts.all === true) {
      targets = kiosks.map((k) => k.kioskId);
    } else {
      throw new SosError(ErrorCode.ArgumentInvalid, "say which kiosks: --kiosk ID (repeatable), --region NAME or --all");
    }
    if (targets.length === 0) throw new SosError(ErrorCode.ArgumentInvalid, "no kiosk matches: nothing offered");
    const commands = targets.map((kioskId) => {
      const commandId = randomUUID();
      const command: Command = { v: 1, commandId, type: "install-release", release: manifest, url };
      return { kioskId, commandId, payload: JSON.stringify(commandSchema.parse(command)) };
    });
    await store.security.queueCommands(commands, new Date());
    process.stdout.write(`offered release ${manifest.version} to ${targets.length} kiosk(s): the gateway sends it as each connects; 'sos kiosks' shows their VERSION\n`);
  } finally {
    await store.close();
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new SosError(ErrorCode.ArgumentInvalid, `cannot read ${path}, ${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

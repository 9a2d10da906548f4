/**
 * `sos release publish ARCHIVE --store URL|--data-dir D`: keeps a signed release in the gateway's
 * store (checked with the release public key); `sos release offer VERSION`: sends it to kiosks over their commands topic;
 * `sos release rollout VERSION --to …`: in waves (gateway/releases/rollout.ts); `sos release rollouts`.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { publishRelease, readPublished, RELEASES_DIR } from "../../gateway/releases/published.js";
import { type Command, commandSchema } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { parseManifest, type ReleaseManifest } from "../../shared/release.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { DEFAULT_WAVE_DEADLINE_MS, parseDuration, parseTarget, planWaves } from "../../gateway/releases/rollout.js";
import { openCliStore } from "../lib/store.js";
import { formatTable } from "../lib/table.js";
import { terminalSafeJson } from "../lib/terminal.js";
import { PUBLIC_KEY_FILE } from "./release.js";

/** `sos release publish ARCHIVE --store URL|--data-dir D`: checks the release with the release public key and keeps it in the gateway's store. */
export async function runPublish(archive: string, opts: { dataDir?: unknown; store?: unknown; manifest?: unknown; publicKey?: unknown }): Promise<void> {
  const manifestPath = typeof opts.manifest === "string" ? opts.manifest : `${archive}.sig.json`;
  const keyPath = typeof opts.publicKey === "string" ? opts.publicKey : typeof opts.dataDir === "string" ? join(opts.dataDir, PUBLIC_KEY_FILE) : undefined;
  if (keyPath === undefined) throw new SosError(ErrorCode.ArgumentInvalid, `give --public-key FILE (the ${PUBLIC_KEY_FILE} from 'sos release keygen'), or --data-dir holding it`);
  const manifest = parseManifest(readText(manifestPath, "the release manifest (sos release sign writes ARCHIVE.sig.json)"), manifestPath);
  const publicKeyPem = readText(keyPath, `the release public key (copy ${PUBLIC_KEY_FILE} from 'sos release keygen' into the data folder, or give --public-key)`);
  if (!existsSync(archive)) throw new SosError(ErrorCode.ArgumentInvalid, `no archive at ${archive}`);
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const { manifest: m, already } = await publishRelease(store.releases, archive, manifest, publicKeyPem, new Date());
    const what = already ? `release ${m.version} was published already with these bytes: nothing changed` : `published release ${m.version} (${m.file}, ${m.size} bytes)`;
    process.stdout.write(`${what}; every gateway on this store serves it; roll it out with 'sos release rollout ${m.version} --to 5% --release-url URL'\n`);
  } finally {
    await store.close();
  }
}

export interface OfferOptions {
  dataDir?: unknown;
  /** A PostgreSQL store (--store), else SQLite in --data-dir; releases are in the store. */
  store?: unknown;
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
  const base = releaseBase(opts.releaseUrl);
  const named = Array.isArray(opts.kiosk) ? (opts.kiosk as string[]) : [];
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const manifest = await publishedOrRefuse(store, version);
    const url = `${base}/${RELEASES_DIR}/${encodeURIComponent(manifest.version)}/${manifest.file}`;
    const kiosks = await store.listKiosks();
    let targets: string[];
    if (named.length > 0) {
      const known = new Set(kiosks.map((k) => k.kioskId));
      const unknown = named.filter((k) => !known.has(k));
      if (unknown.length > 0) throw new SosError(ErrorCode.KioskUnknown, `no kiosk ${unknown.join(", ")} in this store: list them with 'sos kiosks'`);
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

/** `sos release rollout VERSION --to 5%|region:NAME|all`: plans the waves; the running gateway rolls them out. */
export async function runRollout(version: string, opts: { dataDir?: unknown; store?: unknown; to?: unknown; releaseUrl?: unknown; waveDeadline?: unknown }): Promise<void> {
  const base = releaseBase(opts.releaseUrl);
  const target = parseTarget(String(opts.to));
  const waveDeadlineMs = typeof opts.waveDeadline === "string" ? parseDuration(opts.waveDeadline) : DEFAULT_WAVE_DEADLINE_MS;
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const manifest = await publishedOrRefuse(store, version);
    const decommissioned = new Set((await store.health.listHealth()).filter((h) => h.decommissionedAt !== null).map((h) => h.kioskId));
    const kiosks = (await store.listKiosks()).filter((k) => !decommissioned.has(k.kioskId));
    const waves = planWaves(manifest.version, kiosks, target);
    if (waves.length === 0) throw new SosError(ErrorCode.ArgumentInvalid, `no kiosk matches --to ${String(opts.to)}: nothing to roll out`);
    const started = await store.releases.putRollout({ version: manifest.version, target: String(opts.to), releaseUrl: base, waves, wave: 0, offeredWave: -1, state: "running", reason: null, waveDeadlineMs }, new Date());
    if (!started) throw new SosError(ErrorCode.ArgumentInvalid, `release ${manifest.version} is being rolled out already: see 'sos release rollouts'`);
    process.stdout.write(`rollout of ${manifest.version} to ${waves.flat().length} kiosk(s) in ${waves.length} wave(s) (${waves.map((w) => w.length).join(", ")}): the gateway offers the next wave once every kiosk of the last confirmed it (or ${typeof opts.waveDeadline === "string" ? opts.waveDeadline : "24h"} passed: the silent ones count as no answer), and stops if one rolls it back\n`);
  } finally {
    await store.close();
  }
}

/** `sos release rollouts`: every rollout with its wave, state and why it stopped. */
export async function runRollouts(opts: { dataDir?: unknown; store?: unknown; json?: unknown }): Promise<void> {
  const store = await openCliStore(opts, { readonly: true });
  try {
    const rollouts = await store.releases.listRollouts();
    if (opts.json === true) {
      process.stdout.write(`${terminalSafeJson(rollouts)}\n`);
      return;
    }
    if (rollouts.length === 0) {
      process.stdout.write("no rollouts yet: 'sos release rollout VERSION --to 5%'\n");
      return;
    }
    const rows = rollouts.map((r) => [r.version, r.target, `${r.wave + 1}/${r.waves.length}`, String(r.waves.flat().length), r.state, noAnswer(r.noAnswer), r.reason ?? "-", r.updatedAt]);
    process.stdout.write(`${formatTable(["VERSION", "TO", "WAVE", "KIOSKS", "STATE", "NO ANSWER", "REASON", "UPDATED"], rows)}\n`);
  } finally {
    await store.close();
  }
}

async function publishedOrRefuse(store: GatewayStore, version: string): Promise<ReleaseManifest> {
  const manifest = await readPublished(store.releases, version);
  if (manifest === undefined) throw new SosError(ErrorCode.ArgumentInvalid, `release ${version} is not published in this store: 'sos release publish ARCHIVE' first (same --store or --data-dir)`);
  return manifest;
}

/** The kiosks a wave deadline passed over: a count and the first few ids. */
function noAnswer(ids: readonly string[]): string {
  if (ids.length === 0) return "-";
  return `${ids.length} (${ids.slice(0, 3).join(", ")}${ids.length > 3 ? ", …" : ""})`;
}

function releaseBase(value: unknown): string {
  const base = String(value).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/\s]+$/.test(base)) throw new SosError(ErrorCode.ArgumentInvalid, `--release-url must be the gateway's HTTP(S) address as kiosks reach it, like https://gw.example:8443 (got '${String(value)}')`);
  return base;
}

import { createPrivateKey } from "node:crypto";
/**
 * `sos release keygen --out DIR`: the release-signing key pair (Ed25519). The private key stays with
 * whoever builds releases; the public key goes on every kiosk (update.publicKey in kiosk.json).
 * `sos release sign ARCHIVE --key FILE --version V`: writes ARCHIVE.sig.json (version, size,
 * SHA-256, signature) beside the archive. Publishing and offering it: release-offer.ts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { generateReleaseKeys, signRelease } from "../../shared/release.js";
import { makeDir } from "../../shared/make-dir.js";

export const PRIVATE_KEY_FILE = "release-signing.key";
export const PUBLIC_KEY_FILE = "release-signing.pub";

export function runKeygen(opts: { out?: unknown; force?: unknown }): void {
  const out = String(opts.out);
  const privatePath = join(out, PRIVATE_KEY_FILE);
  if (existsSync(privatePath) && opts.force !== true) {
    throw new SosError(ErrorCode.ArgumentInvalid, `${privatePath} exists: kiosks trust its public key; add --force only to replace it (every kiosk then needs the new ${PUBLIC_KEY_FILE})`);
  }
  const keys = generateReleaseKeys();
  makeDir(out, 0o700);
  writeFileSync(privatePath, keys.privateKeyPem, { mode: 0o600 });
  writeFileSync(join(out, PUBLIC_KEY_FILE), keys.publicKeyPem, { mode: 0o644 });
  process.stdout.write(`release signing key: ${privatePath} (keep it offline)\npublic key for kiosks: ${join(out, PUBLIC_KEY_FILE)}\n`);
}

export async function runSign(archive: string, opts: { key?: unknown; version?: unknown }): Promise<void> {
  let pem: string;
  try {
    pem = readFileSync(String(opts.key), "utf8");
  } catch (err) {
    throw new SosError(ErrorCode.ArgumentInvalid, `cannot read the release key ${String(opts.key)}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (make one with 'sos release keygen')`);
  }
  if (!existsSync(archive)) throw new SosError(ErrorCode.ArgumentInvalid, `no archive at ${archive}`);
  try {
    createPrivateKey(pem);
  } catch {
    throw new SosError(ErrorCode.ArgumentInvalid, `the release key ${String(opts.key)} is not a private key in PEM (make one with 'sos release keygen')`);
  }
  const manifest = await signRelease(archive, basename(archive), String(opts.version), pem);
  const out = `${archive}.sig.json`;
  writeFileSync(out, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(`signed ${manifest.file} as release ${manifest.version} (sha256 ${manifest.sha256}): ${out}\n`);
}

/**
 * `sos release check-native DIR [--arch arm64] [--allow NAME…]`: every native module in DIR's
 * node_modules must carry a binary for the kiosk's CPU; exit 1 naming those that do not.
 */
export async function runCheckNative(dir: string, opts: { arch?: unknown; allow?: unknown; json?: unknown }): Promise<void> {
  const { checkArch, findNativePackages } = await import("../lib/native-modules.js");
  const { formatTable } = await import("../lib/table.js");
  const arch = typeof opts.arch === "string" ? opts.arch : "arm64";
  const allowed = new Set(Array.isArray(opts.allow) ? (opts.allow as string[]) : []);
  if (!existsSync(join(dir, "node_modules"))) throw new SosError(ErrorCode.ArgumentInvalid, `${dir} has no node_modules: install the production dependencies there first (npm ci --omit=dev --os=linux --cpu=${arch})`);
  const verdicts = checkArch(findNativePackages(dir), arch, allowed);
  const failed = verdicts.filter((v) => !v.ok);
  if (opts.json === true) process.stdout.write(`${JSON.stringify({ arch, ok: failed.length === 0, modules: verdicts }, null, 2)}\n`);
  else {
    process.stdout.write(`${formatTable(["MODULE", "RESULT", "DETAIL"], verdicts.map((v) => [v.name, v.ok ? "ok" : "FAIL", v.detail]))}\n`);
    process.stdout.write(failed.length === 0 ? `every native module has a ${arch} binary or is allowed\n` : `${failed.length} native module(s) without a ${arch} binary: ${failed.map((f) => f.name).join(", ")}\n`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

/**
 * Signed releases of the kiosk agent. A release is an archive (tar.gz) and a manifest beside it
 * (ARCHIVE.sig.json) naming its version, size and SHA-256 digest, signed with the release key
 * (Ed25519, `sos release keygen`). A kiosk trusts only the public key it was installed with, and
 * checks the signature, the size and the digest before anything is unpacked.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { createReadStream } from "node:fs";
import { type ReleaseManifest, releaseManifestSchema, releaseVersionSchema } from "./release-manifest.js";
import { ErrorCode, SosError } from "./errors.js";

export { type ReleaseManifest, releaseManifestSchema, releaseVersionSchema } from "./release-manifest.js";

/** What the signature covers: every field but itself, in a fixed order. */
export function signedText(m: Omit<ReleaseManifest, "signature">): string {
  return ["sos-release", "v1", m.version, m.file, String(m.size), m.sha256].join("\n");
}

export function generateReleaseKeys(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

export async function digestFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

export async function signRelease(archivePath: string, file: string, version: string, privateKeyPem: string): Promise<ReleaseManifest> {
  const { sha256, size } = await digestFile(archivePath);
  const unsigned = { v: 1 as const, version: releaseVersionSchema.parse(version), file, size, sha256 };
  const signature = sign(null, Buffer.from(signedText(unsigned)), createPrivateKey(privateKeyPem)).toString("base64");
  return { ...unsigned, signature };
}

const invalid = (message: string): SosError => new SosError(ErrorCode.ReleaseInvalid, message);

/** Parses a manifest file's text; throws RELEASE_INVALID. */
export function parseManifest(text: string, source: string): ReleaseManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${source} is not JSON: is it the .sig.json written by 'sos release sign'?`);
  }
  const parsed = releaseManifestSchema.safeParse(json);
  if (!parsed.success) throw invalid(`${source} is not a release manifest (${parsed.error.issues[0]?.path.join(".") ?? ""}: ${parsed.error.issues[0]?.message ?? ""})`);
  return parsed.data;
}

/**
 * Checks the manifest's signature with the trusted key, then the archive's size and digest against
 * it. Throws RELEASE_INVALID saying which; nothing is unpacked before this returns.
 */
export async function verifyRelease(archivePath: string, manifest: ReleaseManifest, publicKeyPem: string): Promise<void> {
  const { signature, ...unsigned } = manifest;
  let ok: boolean;
  try {
    ok = verify(null, Buffer.from(signedText(unsigned)), createPublicKey(publicKeyPem), Buffer.from(signature, "base64"));
  } catch {
    ok = false;
  }
  if (!ok) throw invalid(`release ${manifest.version}: the signature does not match this kiosk's release key (a tampered manifest, or signed with another key)`);
  const { sha256, size } = await digestFile(archivePath);
  if (size !== manifest.size || sha256 !== manifest.sha256) {
    throw invalid(`release ${manifest.version}: the archive's digest does not match its signed manifest (${size} bytes, sha256 ${sha256.slice(0, 12)}…; signed: ${manifest.size} bytes, ${manifest.sha256.slice(0, 12)}…): a damaged or altered download`);
  }
}

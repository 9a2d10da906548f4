/**
 * Agent releases published at the gateway (`sos release publish`): DATA/releases/VERSION/ holds the
 * archive and its signed manifest (manifest.json), checked with the release public key before they
 * are kept. Kiosks download the archive from GET /releases/VERSION/FILE (the signature, not the
 * channel, is what they trust; they check it with their own key before unpacking anything).
 */
import { copyFileSync, createReadStream, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileDurably } from "../../shared/durable-file.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { parseManifest, type ReleaseManifest, releaseManifestSchema, releaseVersionSchema, verifyRelease } from "../../shared/release.js";
import { type RouteGroup, requireMethod, sendError } from "../http/respond.js";

export const RELEASES_DIR = "releases";
const MANIFEST = "manifest.json";
const ROUTE = /^\/releases\/([^/]+)\/([^/]+)$/;

/** Checks and keeps a release in the data folder; returns its manifest. */
export async function publishRelease(dataDir: string, archive: string, manifest: ReleaseManifest, publicKeyPem: string): Promise<ReleaseManifest> {
  await verifyRelease(archive, manifest, publicKeyPem);
  const dir = join(dataDir, RELEASES_DIR, manifest.version);
  if (readPublished(dataDir, manifest.version) !== undefined) {
    throw new SosError(ErrorCode.ArgumentInvalid, `release ${manifest.version} is published already: a version is never replaced (kiosks may be running it); sign the new build as another version`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${manifest.file}.tmp`);
  copyFileSync(archive, tmp);
  renameSync(tmp, join(dir, manifest.file));
  // The manifest last: a release is published once its manifest is there.
  writeFileDurably(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  return manifest;
}

export function readPublished(dataDir: string, version: string): ReleaseManifest | undefined {
  if (!releaseVersionSchema.safeParse(version).success) return undefined;
  const path = join(dataDir, RELEASES_DIR, version, MANIFEST);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return parseManifest(text, path);
}

export function listPublished(dataDir: string): ReleaseManifest[] {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, RELEASES_DIR));
  } catch {
    return [];
  }
  return names.flatMap((v) => {
    try {
      const m = readPublished(dataDir, v);
      return m === undefined ? [] : [m];
    } catch {
      return [];
    }
  });
}

/** GET/HEAD /releases/VERSION/FILE: a published archive, for kiosks installing it. */
export function releaseRoutes(dataDir: string): RouteGroup {
  return (ctx) => {
    const match = ROUTE.exec(ctx.path);
    if (match === null) return Promise.resolve(false);
    requireMethod(ctx, "GET", "HEAD");
    const [, version = "", file = ""] = match;
    let manifest: ReleaseManifest | undefined;
    try {
      manifest = readPublished(dataDir, decodeURIComponent(version));
    } catch {
      manifest = undefined;
    }
    if (manifest === undefined || !releaseManifestSchema.shape.file.safeParse(file).success || manifest.file !== file) {
      sendError(ctx.res, 404, "NO_RELEASE", `no published release file ${ctx.path}`);
      return Promise.resolve(true);
    }
    const path = join(dataDir, RELEASES_DIR, manifest.version, manifest.file);
    ctx.res.writeHead(200, {
      "content-type": "application/gzip",
      "content-length": String(statSync(path).size),
      "cache-control": "public, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
    });
    if (ctx.method === "HEAD") {
      ctx.res.end();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const stream = createReadStream(path);
      stream.once("error", () => ctx.res.destroy());
      ctx.res.once("close", () => {
        stream.destroy();
        resolve(true);
      });
      stream.pipe(ctx.res);
    });
  };
}

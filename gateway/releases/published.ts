/**
 * Agent releases published at the gateway (`sos release publish`): the archive and its signed
 * manifest, checked with the release public key before they are kept, are kept in the store
 * (migration 17), so every gateway of a cluster serves every release. Kiosks download the archive
 * from GET /releases/VERSION/FILE (the signature, not the channel, is what they trust; they check it
 * with their own key before unpacking anything).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { parseManifest, type ReleaseManifest, releaseManifestSchema, releaseVersionSchema, verifyRelease } from "../../shared/release.js";
import { type RouteGroup, requireMethod, sendError } from "../http/respond.js";
import type { ReleaseStore } from "../store/release-store.js";

/** The URL path of releases (…/releases/VERSION/FILE); before migration 17, also the data folder's releases/. */
export const RELEASES_DIR = "releases";
const ROUTE = /^\/releases\/([^/]+)\/([^/]+)$/;

/**
 * Checks a release (signature, then the bytes against the manifest) and keeps it in the store.
 * Publishing the same version with the same bytes again is a no-op ("same"); with other bytes it is refused.
 */
export async function publishRelease(store: ReleaseStore, archive: string, manifest: ReleaseManifest, publicKeyPem: string, now: Date): Promise<{ manifest: ReleaseManifest; already: boolean }> {
  await verifyRelease(archive, manifest, publicKeyPem);
  const bytes = readFileSync(archive);
  // Read again after the check: the file must still be what was verified.
  if (bytes.length !== manifest.size || createHash("sha256").update(bytes).digest("hex") !== manifest.sha256) {
    throw new SosError(ErrorCode.ArgumentInvalid, `${archive} changed while it was being published: publish it again`);
  }
  return { manifest, already: (await keep(store, manifest, bytes, now)) === "same" };
}

async function keep(store: ReleaseStore, manifest: ReleaseManifest, bytes: Buffer, now: Date): Promise<"published" | "same"> {
  const result = await store.publishRelease(
    { version: manifest.version, file: manifest.file, sha256: manifest.sha256, size: manifest.size, manifest: JSON.stringify(manifest) },
    bytes,
    now,
  );
  if (result === "different") {
    throw new SosError(ErrorCode.ArgumentInvalid, `release ${manifest.version} is published already with other bytes: a version is never replaced (kiosks may be running it); sign the new build as another version`);
  }
  return result;
}

/** The manifest of a published release, or undefined. */
export async function readPublished(store: ReleaseStore, version: string): Promise<ReleaseManifest | undefined> {
  if (!releaseVersionSchema.safeParse(version).success) return undefined;
  const row = await store.getRelease(version);
  return row === undefined ? undefined : parseManifest(row.manifest, `the store's release ${version}`);
}

/**
 * Data folders from before migration 17 hold releases in DATA/releases/VERSION/{archive, manifest.json}.
 * They are moved into the store when the gateway starts, rather than read as a fallback: a fallback
 * would keep serving them from one node only (the bug the store fixes) and leave two places to look.
 * Each is checked against its manifest's digest (it was verified with the key when published);
 * one already in the store is skipped, so this runs at every start but imports a folder once.
 * The folder is left in place (a downgraded gateway still finds it).
 */
export async function importReleaseFolder(dataDir: string, store: ReleaseStore, log: Logger, now: Date): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, RELEASES_DIR));
  } catch {
    return 0;
  }
  let imported = 0;
  for (const version of names) {
    if (!releaseVersionSchema.safeParse(version).success) continue;
    const dir = join(dataDir, RELEASES_DIR, version);
    try {
      // A store that does not answer now is not a reason to refuse to start: tried again at the next start.
      if ((await store.getRelease(version)) !== undefined) continue;
      const manifest = parseManifest(readFileSync(join(dir, "manifest.json"), "utf8"), join(dir, "manifest.json"));
      const bytes = readFileSync(join(dir, manifest.file));
      if (bytes.length !== manifest.size || createHash("sha256").update(bytes).digest("hex") !== manifest.sha256) throw new Error("the archive does not match its manifest's digest");
      await keep(store, manifest, bytes, now);
      imported++;
      log.info({ version, file: manifest.file, from: dir }, "release moved from the data folder into the store (any gateway serves it now)");
    } catch (err) {
      log.warn({ version, from: dir, err }, "a release in the data folder was not moved into the store; publish it again with 'sos release publish'");
    }
  }
  return imported;
}

/** GET/HEAD /releases/VERSION/FILE: a published archive, for kiosks installing it, served from the store. */
export function releaseRoutes(store: ReleaseStore, log: Logger): RouteGroup {
  return async (ctx) => {
    const match = ROUTE.exec(ctx.path);
    if (match === null) return false;
    requireMethod(ctx, "GET", "HEAD");
    const [, version = "", file = ""] = match;
    let manifest: ReleaseManifest | undefined;
    try {
      manifest = await readPublished(store, decodeURIComponent(version));
    } catch (err) {
      log.warn({ err }, "release not served: the store did not answer");
      sendError(ctx.res, 503, "STORE_UNAVAILABLE", "the store did not answer: try again later", { "retry-after": "30" });
      return true;
    }
    if (manifest === undefined || !releaseManifestSchema.shape.file.safeParse(file).success || manifest.file !== file) {
      sendError(ctx.res, 404, "NO_RELEASE", `no published release file ${ctx.path}`);
      return true;
    }
    const etag = `"${manifest.sha256}"`;
    const headers = {
      "content-type": "application/gzip",
      "cache-control": "public, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
      etag,
    };
    if (ctx.req.headers["if-none-match"] === etag) {
      ctx.res.writeHead(304, headers).end();
      return true;
    }
    ctx.res.writeHead(200, { ...headers, "content-length": String(manifest.size) });
    if (ctx.method === "HEAD") {
      ctx.res.end();
      return true;
    }
    await sendChunks(ctx.res, store.readRelease(manifest.version), log);
    return true;
  };
}

/** Writes the chunks with backpressure; a store failure midway cuts the response (the kiosk sees a short download and retries). */
async function sendChunks(res: ServerResponse, chunks: AsyncIterable<Buffer>, log: Logger): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
    res.end();
  } catch (err) {
    log.warn({ err }, "release download cut: the store failed while it was read");
    res.destroy();
  }
}

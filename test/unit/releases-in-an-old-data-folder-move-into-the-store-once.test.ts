/**
 * A data folder from before migration 17 kept releases in DATA/releases/VERSION/: the gateway moves
 * them into the store at start (gateway/releases/published.ts importReleaseFolder), once, logged;
 * one whose archive does not match its manifest stays out, with a warning.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { importReleaseFolder, readPublished } from "../../gateway/releases/published.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { generateReleaseKeys, signRelease } from "../../shared/release.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("releases in an old data folder move into the store once", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function oldRelease(dataDir: string, version: string, bytes: Buffer, damage = false): Promise<void> {
    const folder = join(dataDir, "releases", version);
    mkdirSync(folder, { recursive: true });
    const file = `sos-kiosk-${version}.tar.gz`;
    writeFileSync(join(folder, file), bytes);
    const manifest = await signRelease(join(folder, file), file, version, generateReleaseKeys().privateKeyPem);
    writeFileSync(join(folder, "manifest.json"), JSON.stringify(manifest));
    if (damage) writeFileSync(join(folder, file), Buffer.concat([bytes, Buffer.from("x")]));
  }

  it("imports each release whose archive matches its manifest, logs it, and skips it at the next start", async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-old-releases-"));
    const bytes = Buffer.alloc(1_500_000, 7);
    await oldRelease(dir, "1.2.0", bytes);
    await oldRelease(dir, "1.3.0", Buffer.from("short"), true);
    const store = SqliteStore.open(dir);
    const logs = new LogCapture();
    try {
      expect(await importReleaseFolder(dir, store.releases, logs.logger("gw"), new Date())).toBe(1);
      expect(logs.find("release moved from the data folder into the store (any gateway serves it now)").map((l) => l.version)).toEqual(["1.2.0"]);
      expect(logs.find("a release in the data folder was not moved into the store; publish it again with 'sos release publish'").map((l) => l.version)).toEqual(["1.3.0"]);
      expect((await readPublished(store.releases, "1.2.0"))?.size).toBe(bytes.length);
      const chunks: Buffer[] = [];
      for await (const c of store.releases.readRelease("1.2.0")) chunks.push(c);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      expect(await readPublished(store.releases, "1.3.0")).toBeUndefined();
      // The next start: nothing new to move.
      expect(await importReleaseFolder(dir, store.releases, logs.logger("gw"), new Date())).toBe(0);
      expect(logs.find("release moved from the data folder into the store (any gateway serves it now)")).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

/**
 * Releases are in the store (migration 17): a release published through one gateway (`sos release
 * publish --store URL`) is served by every gateway on that PostgreSQL store, whole (chunked past
 * 1 MiB), with its digest as the ETag; an unknown one is a one-line JSON 404.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateReleaseKeys, signRelease } from "../../shared/release.js";
import { SOS_BIN, startTestGateway, type TestGateway } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

describe("a release published through one gateway is downloaded from another on the same PostgreSQL store", () => {
  let db: TestDatabase;
  let dir: string;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), "sos-release-store-"));
    for (const name of ["a", "b"]) {
      mkdirSync(join(dir, name));
      gateways.push(await startTestGateway(join(dir, name), { store: { url: db.url } }));
    }
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("node B serves node A's release: the same bytes and digest, Content-Length and ETag; publishing it again is a no-op", async () => {
    const [a, b] = gateways as [TestGateway, TestGateway];
    const keys = generateReleaseKeys();
    const archive = join(dir, "sos-kiosk-2.0.0-linux-arm64.tar.gz");
    const bytes = randomBytes(3 * 1024 * 1024 + 4_321);
    writeFileSync(archive, bytes);
    const manifest = await signRelease(archive, "sos-kiosk-2.0.0-linux-arm64.tar.gz", "2.0.0", keys.privateKeyPem);
    writeFileSync(`${archive}.sig.json`, JSON.stringify(manifest));
    writeFileSync(join(dir, "release-signing.pub"), keys.publicKeyPem);
    const publish = (): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [SOS_BIN, "release", "publish", archive, "--store", a.storeUrl ?? "", "--public-key", join(dir, "release-signing.pub")], { encoding: "utf8" });
    const first = publish();
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/^published release 2\.0\.0 /);
    expect(publish().stdout).toMatch(/^release 2\.0\.0 was published already with these bytes: nothing changed/);

    const res = await fetch(`http://127.0.0.1:${b.httpPort}/releases/2.0.0/sos-kiosk-2.0.0-linux-arm64.tar.gz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/gzip");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(res.headers.get("etag")).toBe(`"${manifest.sha256}"`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(bytes)).toBe(true);
    expect(createHash("sha256").update(body).digest("hex")).toBe(manifest.sha256);

    const again = await fetch(`http://127.0.0.1:${b.httpPort}/releases/2.0.0/sos-kiosk-2.0.0-linux-arm64.tar.gz`, { headers: { "if-none-match": `"${manifest.sha256}"` } });
    expect(again.status).toBe(304);
    const unknown = await fetch(`http://127.0.0.1:${b.httpPort}/releases/9.9.9/sos-kiosk-9.9.9.tar.gz`);
    expect(unknown.status).toBe(404);
    const text = await unknown.text();
    expect(text.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(text)).toMatchObject({ status: "error", error: { code: "NO_RELEASE" } });
  }, 60_000);

  it("other bytes under a published version are refused in one line", () => {
    const [a] = gateways as [TestGateway];
    const archive = join(dir, "other.tar.gz");
    writeFileSync(archive, randomBytes(1_000));
    const keys = generateReleaseKeys();
    return signRelease(archive, "sos-kiosk-2.0.0-linux-arm64.tar.gz", "2.0.0", keys.privateKeyPem).then((manifest) => {
      writeFileSync(`${archive}.sig.json`, JSON.stringify(manifest));
      writeFileSync(join(dir, "other.pub"), keys.publicKeyPem);
      const r = spawnSync(process.execPath, [SOS_BIN, "release", "publish", archive, "--store", a.storeUrl ?? "", "--public-key", join(dir, "other.pub")], { encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^sos: release 2\.0\.0 is published already with other bytes: .*\n$/);
    });
  }, 60_000);
});

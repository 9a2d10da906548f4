/**
 * A power cut while the gateway's server key and certificate are replaced (gateway/pki/server-pair.ts):
 * real files, the write cut before each of its steps, then the start-up recovery. The gateway must
 * always find a key and a certificate that match: the old pair, or the new one.
 */
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { initCa, pkiPaths, type PkiPaths } from "../../gateway/pki/ca.js";
import { type PairIo, pairFileIo, pairMatches, recoverServerPair, writeServerPair } from "../../gateway/pki/server-pair.js";
import { certificateMatchesKey } from "../../shared/pki/pair.js";
import { generateKeyPair, importKeyPair, issueCertificate } from "../../shared/pki/x509.js";

interface Pair {
  readonly keyPem: string;
  readonly certPem: string;
}

class PowerCut extends Error {}

/** The real file operations, with the power cut just before operation number `at` (0-based). */
function cutAt(at: number): PairIo {
  let done = 0;
  const step = <T>(run: () => T): T => {
    if (done === at) throw new PowerCut(`power cut before step ${at}`);
    done += 1;
    return run();
  };
  return {
    writeSynced: (path, data, mode) => step(() => pairFileIo.writeSynced(path, data, mode)),
    rename: (from, to) => step(() => pairFileIo.rename(from, to)),
    remove: (path) => step(() => pairFileIo.remove(path)),
    syncDir: (dir) => step(() => pairFileIo.syncDir(dir)),
  };
}

describe("an interrupted write of the server key and certificate is recovered at the gateway's start", () => {
  let root: string;
  let paths: PkiPaths;
  let oldPair: Pair;
  let newPair: Pair;
  const onDisk = (): Pair => ({ keyPem: readFileSync(paths.serverKey, "utf8"), certPem: readFileSync(paths.serverCert, "utf8") });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "sos-srv-pair-"));
  });
  beforeEach(async () => {
    const dataDir = mkdtempSync(join(root, "gw-"));
    await initCa(dataDir, { serverNames: ["127.0.0.1"] });
    paths = pkiPaths(dataDir);
    oldPair = onDisk();
    const caPem = readFileSync(paths.caCert, "utf8");
    const key = await generateKeyPair();
    const cert = await issueCertificate({
      caCertPem: caPem,
      caKeys: await importKeyPair(readFileSync(paths.caKey, "utf8"), caPem),
      subjectPublicKey: key.keys.publicKey,
      commonName: "127.0.0.1",
      usage: "server",
      altNames: ["127.0.0.1"],
      notAfter: new Date(Date.now() + 86_400_000),
    });
    newPair = { keyPem: key.privateKeyPem, certPem: cert.pem };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("a key in any form Node's TLS serves (SEC1 EC from openssl) matches its certificate; another key does not", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const caPem = readFileSync(paths.caCert, "utf8");
    const subjectPublicKey = await webcrypto.subtle.importKey("spki", publicKey.export({ type: "spki", format: "der" }), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
    const cert = await issueCertificate({ caCertPem: caPem, caKeys: await importKeyPair(readFileSync(paths.caKey, "utf8"), caPem), subjectPublicKey, commonName: "127.0.0.1", usage: "server", notAfter: new Date(Date.now() + 86_400_000) });
    const sec1 = privateKey.export({ type: "sec1", format: "pem" }).toString();
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    expect(pairMatches(cert.pem, sec1)).toBe(true);
    expect(pairMatches(cert.pem, newPair.keyPem)).toBe(false);
    expect(pairMatches(cert.pem, "garbage")).toBe(false);
  });

  it("the write has the steps the recovery expects: write both new files, sync, rename the key, sync, rename the certificate, sync", () => {
    const names: string[] = [];
    const io: PairIo = {
      writeSynced: (p, d, m) => (names.push(`write ${p}`), pairFileIo.writeSynced(p, d, m)),
      rename: (f, t) => (names.push(`rename ${f}`), pairFileIo.rename(f, t)),
      remove: (p) => (names.push(`remove ${p}`), pairFileIo.remove(p)),
      syncDir: (d) => (names.push(`sync ${d}`), pairFileIo.syncDir(d)),
    };
    writeServerPair(paths, newPair, io);
    expect(names).toEqual([
      `write ${paths.serverKey}.new`,
      `write ${paths.serverCert}.new`,
      `sync ${paths.dir}`,
      `rename ${paths.serverKey}.new`,
      `sync ${paths.dir}`,
      `rename ${paths.serverCert}.new`,
      `sync ${paths.dir}`,
    ]);
    expect(onDisk()).toEqual(newPair);
  });

  for (let at = 0; at < 7; at += 1) {
    it(`a power cut before step ${at} leaves a matching pair after recovery: the new one once its certificate was written, else the old one`, () => {
      expect(() => writeServerPair(paths, newPair, cutAt(at))).toThrow(PowerCut);
      const recovery = recoverServerPair(paths);
      expect(recovery).not.toBe("mismatched");
      const pair = onDisk();
      expect(certificateMatchesKey(pair.certPem, pair.keyPem)).toBe(true);
      // Steps 0 and 1 write the .new files: before step 2 the new certificate is only complete on disk
      // (written and fsync'd) once step 1 is done.
      expect(pair).toEqual(at >= 2 ? newPair : oldPair);
      expect(readdirSync(paths.dir).filter((f) => f.endsWith(".new"))).toEqual([]);
    });
  }

  it("a torn new certificate is thrown away and the old pair kept", () => {
    pairFileIo.writeSynced(`${paths.serverKey}.new`, newPair.keyPem, 0o600);
    pairFileIo.writeSynced(`${paths.serverCert}.new`, newPair.certPem.slice(0, 200), 0o644);
    expect(recoverServerPair(paths)).toBe("discarded-new");
    expect(onDisk()).toEqual(oldPair);
    expect(existsSync(`${paths.serverCert}.new`)).toBe(false);
  });

  it("a key that matches no certificate is reported, not hidden", () => {
    pairFileIo.writeSynced(paths.serverKey, newPair.keyPem, 0o600);
    expect(recoverServerPair(paths)).toBe("mismatched");
  });

  it("with nothing left behind the pair is intact", () => {
    expect(recoverServerPair(paths)).toBe("intact");
    expect(onDisk()).toEqual(oldPair);
  });
});

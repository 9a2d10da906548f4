/**
 * The button works first: a kiosk start whose TLS files were left intact checks them with Node's own
 * X.509 code and does not load the swap's (tls-swap.js, with @peculiar/x509 and reflect-metadata),
 * which would hold up the main thread while the first press is being recorded. Real files in a temp
 * folder; the import of tls-swap.js is watched through vitest's module mock (the real module is used).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { prepareTlsFiles } from "../../device/link/tls-recovery.js";
import { type KioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { createCaCertificate, type CryptoKeyPair, generateKeyPair, issueCertificate } from "../../shared/pki/x509.js";
import { LogCapture } from "../fixtures/log-capture.js";

const loaded = vi.hoisted(() => ({ swap: 0 }));
vi.mock("../../device/link/tls-swap.js", async (importOriginal) => {
  loaded.swap += 1;
  return importOriginal();
});

const KIOSK = "kz-tls-0001";
const HINT = `revoke it at the gateway ('sos revoke ${KIOSK}') and enrol it again here ('sos enroll --token-file FILE … --force')`;

interface Pair {
  readonly keyPem: string;
  readonly certPem: string;
}

describe("a kiosk start loads no X.509 code when no certificate swap was interrupted", () => {
  let ca: { certPem: string; keys: CryptoKeyPair };
  let pair: Pair;
  let other: Pair;
  let foreign: Pair;
  let dir: string;
  let config: KioskConfig;
  let files: { cert: string; key: string };

  async function pairFor(commonName: string): Promise<Pair> {
    const key = await generateKeyPair();
    const cert = await issueCertificate({ caCertPem: ca.certPem, caKeys: ca.keys, subjectPublicKey: key.keys.publicKey, commonName, usage: "client", notAfter: new Date(Date.now() + 86_400_000) });
    return { keyPem: key.privateKeyPem, certPem: cert.pem };
  }

  /** prepareTlsFiles, and the lines it logged once its background check has run. */
  async function start(): Promise<LogCapture> {
    const logs = new LogCapture();
    await prepareTlsFiles(config, logs.logger("kiosk"));
    await new Promise((r) => setTimeout(r, 100));
    return logs;
  }

  beforeAll(async () => {
    const caKey = await generateKeyPair();
    ca = { certPem: await createCaCertificate(caKey.keys, "Test CA", 30), keys: caKey.keys };
    [pair, other, foreign] = await Promise.all([pairFor(KIOSK), pairFor(KIOSK), pairFor("kz-tls-0002")]);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-tls-start-"));
    mkdirSync(join(dir, "tls"));
    files = { key: join(dir, "tls", "kiosk.key"), cert: join(dir, "tls", "kiosk.crt") };
    writeFileSync(files.key, pair.keyPem, { mode: 0o600 });
    writeFileSync(files.cert, pair.certPem);
    config = parseKioskConfig({
      version: 1,
      kioskId: KIOSK,
      location: { lat: 43.2, lon: 76.9, address: "Test road" },
      mqtt: { url: "mqtts://127.0.0.1:8883", tls: { ca: join(dir, "tls", "ca.crt"), cert: files.cert, key: files.key } },
      dataDir: join(dir, "data"),
      button: { driver: "stdin" },
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("an intact matching pair is checked without loading tls-swap.js, and nothing is logged", async () => {
    const logs = await start();
    expect(logs.lines).toEqual([]);
    expect(loaded.swap).toBe(0);
  });

  it("an intact pair that does not match, is another kiosk's or cannot be read still gets its one error line, without tls-swap.js", async () => {
    writeFileSync(files.key, other.keyPem);
    let logs = await start();
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ["error", `the kiosk's TLS key and certificate do not match (the certificate is not for the private key): it cannot connect to the gateway; ${HINT}`],
    ]);

    writeFileSync(files.key, foreign.keyPem);
    writeFileSync(files.cert, foreign.certPem);
    logs = await start();
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ["error", `the kiosk's TLS key and certificate do not match (the certificate is for kz-tls-0002, not ${KIOSK}): it cannot connect to the gateway; ${HINT}`],
    ]);

    writeFileSync(files.cert, pair.certPem);
    writeFileSync(files.key, "\0garbage");
    logs = await start();
    expect(logs.lines.map((l) => l.msg)).toEqual([`the kiosk's TLS key and certificate do not match (the private key is not a readable PEM key): it cannot connect to the gateway; ${HINT}`]);

    rmSync(files.cert);
    logs = await start();
    expect(logs.lines.map((l) => l.level)).toEqual(["error"]);
    expect(logs.lines[0]?.msg).toMatch(/^the kiosk's TLS key or certificate is missing or unreadable/);
    expect(loaded.swap).toBe(0);
  });

  it("files left by an interrupted swap load tls-swap.js and are recovered before the start goes on", async () => {
    writeFileSync(`${files.key}.new`, other.keyPem);
    writeFileSync(`${files.cert}.new`, other.certPem);
    const logs = new LogCapture();
    await prepareTlsFiles(config, logs.logger("kiosk"));
    expect(logs.find("interrupted certificate swap recovered: the new key and certificate are in place")).toHaveLength(1);
    expect(loaded.swap).toBe(1);
  });
});

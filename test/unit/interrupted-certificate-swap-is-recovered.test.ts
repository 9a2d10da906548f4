/**
 * A power cut during a certificate swap on the kiosk: real files in a temp folder, the swap cut
 * after each of its steps (the I/O port throws there, as the power would stop it), then the start-up
 * recovery. The kiosk must always end up with a key and certificate that match.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installCertificate, renewCertificate } from "../../device/link/certificate.js";
import { prepareTlsFiles } from "../../device/link/tls-recovery.js";
import { recoverTlsPair, SwapNotUndone, swapTlsPair, type TlsPaths } from "../../device/link/tls-swap.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { certificateMatchesKey } from "../../shared/pki/pair.js";
import { issueCertificate, parseCsr } from "../../shared/pki/x509.js";
import { type KioskTlsDir, kioskTlsDir, makeTestCa, type Pair, pairFor, type TestCa } from "../fixtures/kiosk-tls.js";
import { steppingIo } from "../fixtures/swap-io.js";
import { LogCapture } from "../fixtures/log-capture.js";

const KIOSK = "kz-swp-0001";

let ca: TestCa;
let oldPair: Pair;
let newPair: Pair;
let foreignPair: Pair;

class PowerCut extends Error {}

/** The real file operations, with the power cut just before operation number `at` (0-based): it and every later one fail. */
const cutAt = (at: number) => steppingIo((n) => (n >= at ? new PowerCut(`power cut before step ${at}`) : undefined));

/** The names of the operations the swap does, in order (from a run without a cut). */
function swapSteps(files: TlsPaths): string[] {
  const io = steppingIo();
  swapTlsPair(files, newPair, { io });
  return io.names;
}

describe("an interrupted certificate swap is recovered at the kiosk's start", () => {
  let tls: KioskTlsDir;
  let dir: string;
  let files: TlsPaths;
  const onDisk = (): Pair => tls.onDisk();
  const leftovers = (): string[] => tls.leftovers();
  const kioskConfig = (): KioskConfig => tls.config;

  beforeAll(async () => {
    ca = await makeTestCa();
    [oldPair, newPair, foreignPair] = await Promise.all([pairFor(ca, KIOSK), pairFor(ca, KIOSK), pairFor(ca, "kz-swp-0002")]);
  });

  beforeEach(() => {
    tls = kioskTlsDir(KIOSK, oldPair, "sos-swap-");
    ({ dir, files } = tls);
  });
  afterEach(() => tls.remove());

  it("a power cut after the new files are written (before any rename) rolls forward to the new pair", () => {
    const io = cutAt(swapSteps({ ...files }).findIndex((s) => s.startsWith("rename")));
    // swapSteps ran a whole swap: start again from the old pair.
    writeFileSync(files.key, oldPair.keyPem);
    writeFileSync(files.cert, oldPair.certPem);
    expect(() => swapTlsPair(files, newPair, { io })).toThrow(SwapNotUndone);
    expect(onDisk()).toEqual(oldPair);
    expect(leftovers().sort()).toEqual(["kiosk.crt.new", "kiosk.key.new", "kiosk.key.old"]);

    const result = recoverTlsPair(files, KIOSK);
    expect(result.outcome).toBe("rolled-forward");
    expect(onDisk()).toEqual(newPair);
    expect(leftovers()).toEqual([]);
  });

  it("a power cut between the two renames (new key, old certificate) rolls forward to the new pair", () => {
    const steps = swapSteps({ ...files });
    writeFileSync(files.key, oldPair.keyPem);
    writeFileSync(files.cert, oldPair.certPem);
    const secondRename = steps.findIndex((s, i) => s.startsWith("rename") && i > steps.findIndex((t) => t.startsWith("rename")));
    expect(() => swapTlsPair(files, newPair, { io: cutAt(secondRename) })).toThrow(SwapNotUndone);
    // The state that used to strand a kiosk for good: the new key with the old certificate.
    expect(onDisk()).toEqual({ keyPem: newPair.keyPem, certPem: oldPair.certPem });
    expect(certificateMatchesKey(oldPair.certPem, newPair.keyPem)).toBe(false);

    expect(recoverTlsPair(files, KIOSK)).toMatchObject({ outcome: "rolled-forward" });
    expect(onDisk()).toEqual(newPair);
    expect(leftovers()).toEqual([]);
  });

  it("cut before every single step of the swap, the kiosk ends with a matching pair: the new one once the first rename was made durable", () => {
    const steps = swapSteps({ ...files });
    expect(steps.length).toBeGreaterThan(6);
    const certWritten = steps.indexOf(`write ${files.cert}.new`) + 1;
    const certRenamed = steps.indexOf(`rename ${files.cert}.new`);
    expect(certWritten).toBeGreaterThan(0);
    for (let at = 0; at <= steps.length; at += 1) {
      writeFileSync(files.key, oldPair.keyPem);
      writeFileSync(files.cert, oldPair.certPem);
      for (const f of leftovers()) rmSync(join(dir, "tls", f));
      const io = cutAt(at);
      // Up to the certificate's rename the swap throws (the power stops the undo too); after it, the new pair is in place.
      if (at <= certRenamed) expect(() => swapTlsPair(files, newPair, { io })).toThrow(SwapNotUndone);
      else swapTlsPair(files, newPair, { io });
      const result = recoverTlsPair(files, KIOSK);
      expect(result.outcome, `cut before step ${at} (${steps[at] ?? "none"})`).not.toBe("broken");
      const pair = onDisk();
      expect(certificateMatchesKey(pair.certPem, pair.keyPem), `cut before step ${at}`).toBe(true);
      // Once both .new files are complete (written and fsync'd) the swap is rolled forward; before, it is undone.
      expect(pair, `cut before step ${at} (${steps[at] ?? "none"})`).toEqual(at >= certWritten ? newPair : oldPair);
      expect(leftovers(), `cut before step ${at}`).toEqual([]);
    }
  });

  it("a truncated new certificate is discarded and the old pair kept", () => {
    writeFileSync(`${files.key}.new`, newPair.keyPem);
    writeFileSync(`${files.cert}.new`, newPair.certPem.slice(0, newPair.certPem.length / 2));

    const result = recoverTlsPair(files, KIOSK);
    expect(result).toMatchObject({ outcome: "kept-old", discarded: [`${files.key}.new`, `${files.cert}.new`] });
    expect(onDisk()).toEqual(oldPair);
    expect(leftovers()).toEqual([]);
  });

  it("a garbage new key, or a new certificate for another kiosk, is discarded and the old pair kept", () => {
    writeFileSync(`${files.key}.new`, "\0\0\0garbage");
    writeFileSync(`${files.cert}.new`, newPair.certPem);
    expect(recoverTlsPair(files, KIOSK)).toMatchObject({ outcome: "kept-old" });
    expect(onDisk()).toEqual(oldPair);

    writeFileSync(`${files.key}.new`, foreignPair.keyPem);
    writeFileSync(`${files.cert}.new`, foreignPair.certPem);
    expect(recoverTlsPair(files, KIOSK)).toMatchObject({ outcome: "kept-old", reason: expect.stringContaining("is for kz-swp-0002, not kz-swp-0001") as unknown });
    expect(onDisk()).toEqual(oldPair);
    expect(leftovers()).toEqual([]);
  });

  it("after the first rename with a corrupted new certificate, the old key comes back from KEY.old", () => {
    writeFileSync(`${files.key}.old`, oldPair.keyPem);
    writeFileSync(files.key, newPair.keyPem);
    writeFileSync(`${files.cert}.new`, "-----BEGIN CERTIFICATE-----\nAAAA\n");
    expect(recoverTlsPair(files, KIOSK)).toMatchObject({ outcome: "kept-old" });
    expect(onDisk()).toEqual(oldPair);
    expect(leftovers()).toEqual([]);
  });

  it("the start-up step logs what it recovered, and one clear error line when the pair does not match and nothing can be recovered", async () => {
    const config = kioskConfig();
    const logs = new LogCapture();
    writeFileSync(`${files.key}.new`, newPair.keyPem);
    writeFileSync(`${files.cert}.new`, newPair.certPem);
    await prepareTlsFiles(config, logs.logger("kiosk"));
    expect(onDisk()).toEqual(newPair);
    expect(logs.find("interrupted certificate swap recovered: the new key and certificate are in place")).toHaveLength(1);

    writeFileSync(files.key, oldPair.keyPem);
    const broken = new LogCapture();
    await prepareTlsFiles(config, broken.logger("kiosk"));
    await new Promise((r) => setTimeout(r, 500)); // the plain check runs in the background
    const errors = broken.lines.filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe(
      `the kiosk's TLS key and certificate do not match (the certificate is not for the private key): it cannot connect to the gateway; revoke it at the gateway ('sos revoke ${KIOSK}') and enrol it again here ('sos enroll --token-file FILE … --force')`,
    );
  });

  it("a renewal installs through the swap, and the same certificate sent again is accepted as installed", async () => {
    const config = kioskConfig();
    const { csr } = await renewCertificate(config, "6f1c0a52-0000-4000-8000-000000000001");
    const parsed = await parseCsr(csr);
    const cert = await issueCertificate({ caCertPem: ca.certPem, caKeys: ca.keys, subjectPublicKey: parsed.publicKey, commonName: KIOSK, usage: "client", notAfter: new Date(Date.now() + 86_400_000) });
    await installCertificate(config, cert.pem);
    expect(onDisk().certPem).toBe(cert.pem);
    expect(certificateMatchesKey(cert.pem, onDisk().keyPem)).toBe(true);
    expect(leftovers()).toEqual([]);
    expect(existsSync(join(dir, "data", "tls-pending"))).toBe(false);
    await expect(installCertificate(config, cert.pem)).resolves.toEqual({ serial: cert.serial });
  });
});

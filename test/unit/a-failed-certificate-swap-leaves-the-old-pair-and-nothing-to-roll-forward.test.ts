/**
 * A certificate swap that throws (a full disk, an I/O error; not a power cut) on the kiosk: real files
 * in a temp folder, one step of the swap failing through the SwapIo seam. The kiosk answers such a
 * command "error", on which the gateway revokes the new certificate; so the old pair must be in place
 * again, with nothing left that the start-up recovery would roll forward to (the revoked certificate).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installCertificate, renewCertificate, SwapNotUndone } from "../../device/link/certificate.js";
import { recoverTlsPair, type TlsPaths } from "../../device/link/tls-swap.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { issueCertificate, parseCsr } from "../../shared/pki/x509.js";
import { type KioskTlsDir, kioskTlsDir, makeTestCa, type Pair, pairFor, type TestCa } from "../fixtures/kiosk-tls.js";
import { steppingIo } from "../fixtures/swap-io.js";
import { LogCapture } from "../fixtures/log-capture.js";

const KIOSK = "kz-swf-0001";

const failingIo = (fails: (n: number) => boolean) => steppingIo((n, name) => (fails(n) ? new Error(`ENOSPC: no space left on device (step ${n}: ${name})`) : undefined));

describe("a certificate swap that fails leaves the old pair and nothing to roll forward", () => {
  let ca: TestCa;
  let oldPair: Pair;
  let tls: KioskTlsDir;
  let dir: string;
  let files: TlsPaths;
  let config: KioskConfig;
  let renewals = 0;
  const onDisk = (): Pair => tls.onDisk();
  const leftovers = (): string[] => tls.leftovers();

  /** A renewal as the gateway runs it: the kiosk's CSR, and the certificate issued for it. */
  async function renewed(): Promise<string> {
    renewals += 1;
    const { csr } = await renewCertificate(config, `6f1c0a52-0000-4000-8000-${renewals.toString().padStart(12, "0")}`);
    const parsed = await parseCsr(csr);
    return (await issueCertificate({ caCertPem: ca.certPem, caKeys: ca.keys, subjectPublicKey: parsed.publicKey, commonName: KIOSK, usage: "client", notAfter: new Date(Date.now() + 86_400_000) })).pem;
  }

  beforeAll(async () => {
    ca = await makeTestCa();
    oldPair = await pairFor(ca, KIOSK);
  });

  beforeEach(() => {
    tls = kioskTlsDir(KIOSK, oldPair, "sos-swapfail-");
    ({ dir, files, config } = tls);
  });
  afterEach(() => tls.remove());

  it("a swap step that throws, at any step up to the certificate's rename, is undone: installCertificate rejects, the old pair is in place, no leftovers, and a later start's recovery does nothing", async () => {
    const whole = failingIo(() => false);
    const firstCert = await renewed();
    await installCertificate(config, firstCert, { io: whole });
    const steps = whole.names;
    const certRenamed = steps.indexOf(`rename ${files.cert}.new`);
    expect(steps.indexOf(`rename ${files.key}.new`)).toBeGreaterThan(0);
    expect(certRenamed).toBeGreaterThan(steps.indexOf(`rename ${files.key}.new`));

    for (let at = 0; at <= certRenamed; at += 1) {
      writeFileSync(files.key, oldPair.keyPem);
      writeFileSync(files.cert, oldPair.certPem);
      const logs = new LogCapture();
      const cert = await renewed();
      const io = failingIo((n) => n === at);
      await expect(installCertificate(config, cert, { io, log: logs.logger("kiosk") }), `fails at ${steps[at]}`).rejects.toThrow(/^ENOSPC/);
      expect(onDisk(), `fails at ${steps[at]}`).toEqual(oldPair);
      expect(leftovers(), `fails at ${steps[at]}`).toEqual([]);
      expect(logs.lines.filter((l) => l.level === "error")).toEqual([]);
      // The gateway revokes `cert` on the "error" answer: the next start must not roll forward to it.
      expect(recoverTlsPair(files, KIOSK), `fails at ${steps[at]}`).toMatchObject({ outcome: "intact" });
      expect(onDisk()).toEqual(oldPair);
    }
  });

  it("a step that throws after the certificate's rename does not fail the install: the new pair is in place", async () => {
    const whole = failingIo(() => false);
    await installCertificate(config, await renewed(), { io: whole });
    const steps = whole.names;
    for (let at = steps.indexOf(`rename ${files.cert}.new`) + 1; at < steps.length; at += 1) {
      const cert = await renewed();
      const logs = new LogCapture();
      await expect(installCertificate(config, cert, { io: failingIo((n) => n === at), log: logs.logger("kiosk") }), `fails at ${steps[at]}`).resolves.toMatchObject({});
      expect(onDisk().certPem).toBe(cert);
      expect(logs.find("the new key and certificate are in place; finishing the swap failed (the next start removes what is left)")).toHaveLength(1);
      expect(recoverTlsPair(files, KIOSK)).not.toMatchObject({ outcome: "broken" });
      expect(onDisk().certPem).toBe(cert);
      expect(leftovers()).toEqual([]);
    }
  });

  it("a swap that cannot be undone either logs one error line, is not to be answered, and leaves the files; the command sent again installs the certificate", async () => {
    const whole = failingIo(() => false);
    await installCertificate(config, await renewed(), { io: whole });
    const secondRename = whole.names.indexOf(`rename ${files.cert}.new`);
    writeFileSync(files.key, oldPair.keyPem);
    writeFileSync(files.cert, oldPair.certPem);

    const cert = await renewed();
    const logs = new LogCapture();
    // The disk fails at the certificate's rename and stays failing: the undo cannot run.
    await expect(installCertificate(config, cert, { io: failingIo((n) => n >= secondRename), log: logs.logger("kiosk") })).rejects.toThrow(SwapNotUndone);
    const errors = logs.lines.filter((l) => l.level === "error");
    expect(errors.map((l) => l.msg)).toEqual([
      "installing the renewed certificate failed and the old key and certificate could not be put back: the files are left for the next start, which keeps a matching pair; the command is not answered (the gateway sends it again)",
    ]);
    expect(leftovers().sort()).toEqual(["kiosk.crt.new", "kiosk.key.old"]);
    expect(existsSync(join(dir, "data", "tls-pending"))).toBe(true);

    // The command comes again while the disk still fails: settling the files left behind fails too, and
    // that is not answered "error" either (the gateway would revoke what the next start may roll forward to).
    await expect(installCertificate(config, cert, { io: failingIo(() => true), log: logs.logger("kiosk") })).rejects.toThrow(SwapNotUndone);
    expect(leftovers().sort()).toEqual(["kiosk.crt.new", "kiosk.key.old"]);

    // Not answered, so not revoked: the gateway sends the command again, and the swap is finished.
    await expect(installCertificate(config, cert, { log: logs.logger("kiosk") })).resolves.toMatchObject({});
    expect(onDisk().certPem).toBe(cert);
    expect(leftovers()).toEqual([]);
    expect(recoverTlsPair(files, KIOSK)).toMatchObject({ outcome: "intact" });
  });
});

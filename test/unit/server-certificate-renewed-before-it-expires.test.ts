/**
 * The gateway's server certificate check (gateway/pki/server-renewal.ts) on real files with a real CA
 * and a fake clock: when it renews, what it loads into the listeners, and what it logs.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initCa, issueServerCertificate, loadServerTls, pkiPaths, type ServerTls } from "../../gateway/pki/ca.js";
import { ServerCertificateRenewal } from "../../gateway/pki/server-renewal.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { certificateInfo, createCaCertificate, generateKeyPair, importKeyPair, issueCertificate, subjectAltNames } from "../../shared/pki/x509.js";
import { FakeClock } from "../fixtures/fake-clock.js";
import { LogCapture } from "../fixtures/log-capture.js";

const DAY = 86_400_000;
const NAMES = ["gw.example", "127.0.0.1", "localhost"];

describe("the gateway renews its own server certificate before it expires", () => {
  let dataDir: string;
  let clock: FakeClock;
  let logs: LogCapture;
  let loaded: ServerTls[];
  let renewal: ServerCertificateRenewal;
  const onDisk = (): string => readFileSync(pkiPaths(dataDir).serverCert, "utf8");
  const serialOf = (pem: string): string => certificateInfo(pem).serial;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "sos-srv-renew-"));
    clock = new FakeClock(Date.now());
    logs = new LogCapture();
    await initCa(dataDir, { serverNames: NAMES });
    const config = parseGatewayConfig({ dataDir });
    renewal = new ServerCertificateRenewal(config, { clock, log: logs.logger("gateway") }, loadServerTls(dataDir));
    loaded = [];
    renewal.serve((tls) => loaded.push(tls));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it("a certificate with more than serverRenewBeforeDays left is kept, and said valid at the first check only", async () => {
    const serial = serialOf(onDisk());
    clock.ms += 825 * DAY - 62 * DAY;
    expect((await renewal.check()).outcome).toBe("valid");
    expect((await renewal.check()).outcome).toBe("valid");
    expect(serialOf(onDisk())).toBe(serial);
    expect(loaded).toEqual([]);
    expect(logs.find("server certificate valid")).toHaveLength(1);
  });

  it("within serverRenewBeforeDays a new certificate is issued for the same names, valid 825 days, written to disk and loaded into every listener", async () => {
    const old = onDisk();
    clock.ms += 825 * DAY - 60 * DAY;
    const check = await renewal.check();
    expect(check.outcome).toBe("renewed");
    const now = onDisk();
    expect(serialOf(now)).not.toBe(serialOf(old));
    expect(check.serial).toBe(serialOf(now));
    expect(subjectAltNames(now)).toEqual(subjectAltNames(old));
    expect(subjectAltNames(now)).toContain("gw.example");
    // (Certificates keep whole seconds.)
    expect(certificateInfo(now).notAfter.getTime()).toBe(Math.floor((clock.ms + 825 * DAY) / 1000) * 1000);
    // Valid from 30 days back: a kiosk whose clock is behind (a boot after a power cut) still takes it.
    expect(certificateInfo(now).notBefore.getTime()).toBe(Math.floor((clock.ms - 30 * DAY) / 1000) * 1000);
    expect(loaded.map((t) => serialOf(t.cert))).toEqual([serialOf(now)]);
    expect(loaded[0]?.key).toBe(readFileSync(pkiPaths(dataDir).serverKey, "utf8"));
    expect(serialOf(renewal.tls.cert)).toBe(serialOf(now));
    expect(logs.find("server certificate renewed and loaded")).toEqual([expect.objectContaining({ serial: serialOf(now), notAfter: check.notAfter })]);
    // The new one is not due: the next check leaves it alone.
    expect((await renewal.check()).outcome).toBe("valid");
  });

  it("an expired certificate is renewed too, with an error saying kiosks were refused", async () => {
    clock.ms += 830 * DAY;
    expect((await renewal.check()).outcome).toBe("renewed");
    expect(logs.find("the server certificate has expired: kiosks refuse the gateway until it is renewed")).toHaveLength(1);
  });

  it("a failed renewal is logged with a warning at every check and tried again until it succeeds", async () => {
    const paths = pkiPaths(dataDir);
    const serial = serialOf(onDisk());
    renameSync(paths.caKey, `${paths.caKey}.away`);
    clock.ms += 800 * DAY;
    expect((await renewal.check()).outcome).toBe("failed");
    clock.ms += DAY;
    expect((await renewal.check()).outcome).toBe("failed");
    expect(serialOf(onDisk())).toBe(serial);
    expect(loaded).toEqual([]);
    expect(logs.find("renewing the server certificate failed; trying again at the next check")).toHaveLength(2);
    expect(logs.lines.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([
      expect.stringMatching(/^the gateway's server certificate expires soon and is not renewed/),
      expect.stringMatching(/^the gateway's server certificate expires soon and is not renewed/),
    ]);
    renameSync(`${paths.caKey}.away`, paths.caKey);
    expect((await renewal.check()).outcome).toBe("renewed");
    expect(loaded).toHaveLength(1);
  });

  it("a listener that cannot load the renewed certificate gets it again at the next check", async () => {
    let refuse = true;
    const second: string[] = [];
    renewal.serve((tls) => {
      if (refuse) throw new Error("listener refused");
      second.push(serialOf(tls.cert));
    });
    clock.ms += 800 * DAY;
    expect((await renewal.check()).outcome).toBe("failed");
    refuse = false;
    const check = await renewal.check();
    expect(check.outcome).toBe("reloaded");
    expect(second).toEqual([serialOf(onDisk())]);
  });

  it("a certificate written by 'sos ca server-cert' while the gateway runs is loaded at the next check", async () => {
    const issued = await issueServerCertificate(dataDir, ["gw2.example"]);
    const check = await renewal.check();
    expect(check).toEqual({ outcome: "reloaded", serial: issued.serial, notAfter: issued.notAfter });
    expect(loaded.map((t) => serialOf(t.cert))).toEqual([issued.serial]);
    expect(logs.find("server certificate changed on disk: loaded")).toHaveLength(1);
    expect((await renewal.check()).outcome).toBe("valid");
    expect(loaded).toHaveLength(1);
  });

  it("a certificate on disk that is not for server.key, or not from the gateway's CA, is not loaded", async () => {
    const paths = pkiPaths(dataDir);
    const loadedSerial = serialOf(renewal.tls.cert);
    const otherKey = await generateKeyPair();
    const caPem = readFileSync(paths.caCert, "utf8");
    const caKeys = await importKeyPair(readFileSync(paths.caKey, "utf8"), caPem);
    const notAfter = new Date(clock.ms + 800 * DAY);
    // From the gateway's CA but for another key than server.key (a write halfway through).
    const unmatched = await issueCertificate({ caCertPem: caPem, caKeys, subjectPublicKey: otherKey.keys.publicKey, commonName: "gw.example", usage: "server", altNames: NAMES, notAfter });
    writeFileSync(paths.serverCert, unmatched.pem);
    expect((await renewal.check()).serial).toBe(loadedSerial);

    // A matching pair, from another CA.
    const foreignCa = await generateKeyPair();
    const foreignCaPem = await createCaCertificate(foreignCa.keys, "Another CA", 30);
    const foreign = await issueCertificate({ caCertPem: foreignCaPem, caKeys: foreignCa.keys, subjectPublicKey: otherKey.keys.publicKey, commonName: "gw.example", usage: "server", altNames: NAMES, notAfter });
    writeFileSync(paths.serverCert, foreign.pem);
    writeFileSync(paths.serverKey, otherKey.privateKeyPem);
    expect((await renewal.check()).serial).toBe(loadedSerial);
    expect(loaded).toEqual([]);
    expect(logs.find("the server certificate on disk is not loaded; keeping the one loaded").map((l) => l.reason)).toEqual([
      "it is not the certificate of server.key",
      "it is not issued by the gateway's CA: kiosks would refuse it",
    ]);
  });
});

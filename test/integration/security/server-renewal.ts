/**
 * The gateway renews its own server certificate, over real TLS: at start when it expires within
 * `security.serverRenewBeforeDays`, and at a later check while kiosks are connected, loading the new
 * certificate into the live MQTTS and HTTPS listeners with no restart.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { connect } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { initCa, issueServerCertificate, pkiPaths } from "../../../gateway/pki/ca.js";
import { certificateInfo, normaliseSerial, subjectAltNames } from "../../../shared/pki/x509.js";
import { onStore, startTestGateway, tempDir, waitFor } from "../harness.js";
import { enrolTestKiosk, rememberPem, type SecureGateway, startSecureGateway, startSuiteKiosk, suite } from "./rig.js";

const NAMES = ["127.0.0.1", "localhost"];
const DAY = 86_400_000;

/** The serial of the certificate a new TLS handshake on this port is served, verified against the CA. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, rejectUnauthorized: true, minVersion: "TLSv1.2" }, () => {
      const serial = normaliseSerial(socket.getPeerCertificate().serialNumber);
      socket.destroy();
      resolve(serial);
    });
    socket.once("error", reject);
  });
}

function certOnDisk(dataDir: string): string {
  const paths = pkiPaths(dataDir);
  rememberPem(readFileSync(paths.serverKey, "utf8"));
  return readFileSync(paths.serverCert, "utf8");
}

export function serverRenewalTests(): void {
  describe("the gateway renews its own server certificate before it expires, with no restart", () => {
    const dir = tempDir("sos-sec-srvcert-");
    afterAll(() => dir.remove());

    it("a server certificate expiring within serverRenewBeforeDays is renewed at start for the same names, valid 825 days, and served on the MQTTS and HTTPS ports", async () => {
      const dataDir = join(dir.path, "at-start");
      await initCa(dataDir, { serverNames: NAMES });
      const short = await issueServerCertificate(dataDir, NAMES, { validDays: 30 });
      const ca = readFileSync(pkiPaths(dataDir).caCert, "utf8");
      const gateway = await startTestGateway(dataDir, { ...onStore(suite.store), mqtts: { host: "127.0.0.1", port: 0 } });
      suite.logs.push(gateway.logs);
      try {
        const cert = certOnDisk(dataDir);
        const info = certificateInfo(cert);
        expect(info.serial).not.toBe(short.serial);
        expect(subjectAltNames(cert)).toEqual(subjectAltNames(short.pem));
        expect(info.notAfter.getTime() - Date.now()).toBeGreaterThan(824 * DAY);
        expect(gateway.logs.find("server certificate renewed and loaded")).toEqual([expect.objectContaining({ serial: info.serial, notAfter: info.notAfter.toISOString() })]);
        expect(await servedSerial(gateway.mqttsPort ?? 0, ca)).toBe(info.serial);
        expect(await servedSerial(gateway.httpPort, ca)).toBe(info.serial);
      } finally {
        await gateway.stop();
      }
    });

    it("renewed at a later check, the certificate is loaded into the live listeners: a kiosk connected before stays connected and its alert is acknowledged, a kiosk connecting after verifies the new one", async () => {
      const root = join(dir.path, "later");
      const gateway: SecureGateway = await startSecureGateway(root, { security: { renewCheckMs: 200 } });
      const before = await enrolTestKiosk(gateway, "kz-srv-0001", root);
      const early = await startSuiteKiosk(before);
      let late: Awaited<ReturnType<typeof startSuiteKiosk>> | undefined;
      try {
        await waitFor(() => early.logs.find("connected to gateway").length > 0, "kiosk connected before the renewal");
        const first = certificateInfo(certOnDisk(gateway.dataDir)).serial;
        expect(await servedSerial(gateway.mqttsPort ?? 0, gateway.caCertPem)).toBe(first);
        expect(gateway.logs.find("server certificate renewed and loaded")).toEqual([]);

        // As if 795 days had passed: the certificate on disk now expires within the window.
        const short = await issueServerCertificate(gateway.dataDir, NAMES, { validDays: 30 });
        const renewed = await waitFor(() => gateway.logs.find("server certificate renewed and loaded")[0], "renewed at a later check");
        const info = certificateInfo(certOnDisk(gateway.dataDir));
        expect(renewed).toMatchObject({ serial: info.serial, notAfter: info.notAfter.toISOString() });
        expect([first, short.serial]).not.toContain(info.serial);
        expect(info.notAfter.getTime() - Date.now()).toBeGreaterThan(824 * DAY);
        expect(await servedSerial(gateway.mqttsPort ?? 0, gateway.caCertPem)).toBe(info.serial);
        expect(await servedSerial(gateway.httpPort, gateway.caCertPem)).toBe(info.serial);

        // The kiosk connected before kept its connection, and its press is still acknowledged on it.
        early.button.press(new Date());
        await waitFor(() => early.logs.find("alert acknowledged by gateway").length > 0, "the early kiosk's press acknowledged");
        expect(early.logs.find("connected to gateway")).toHaveLength(1);
        expect(gateway.logs.find("kiosk connected", (l) => l.kioskId === "kz-srv-0001")).toHaveLength(1);
        expect(gateway.logs.find("kiosk disconnected", (l) => l.kioskId === "kz-srv-0001")).toEqual([]);

        // Enrolled over HTTPS and connected over MQTTS after the renewal, both verifying the new certificate against the CA.
        const after = await enrolTestKiosk(gateway, "kz-srv-0002", root);
        late = await startSuiteKiosk(after);
        const lateKiosk = late;
        await waitFor(() => lateKiosk.logs.find("connected to gateway").length > 0, "kiosk connected after the renewal");
        lateKiosk.button.press(new Date());
        await waitFor(() => lateKiosk.logs.find("alert acknowledged by gateway").length > 0, "the late kiosk's press acknowledged");
        // One renewal: the new certificate is not due.
        expect(gateway.logs.find("server certificate renewed and loaded")).toHaveLength(1);
      } finally {
        await late?.stop();
        await early.stop();
        await gateway.stop();
      }
    });
  });
}

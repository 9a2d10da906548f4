/**
 * Automatic renewal end to end, over real TLS with a kiosk enrolled by the real `sos enroll` code: its
 * certificate expires within `security.renewBeforeDays`, the gateway starts, and without any
 * `sos rotate` the kiosk ends up connected with a new certificate and the old one revoked.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { certificateInfo } from "../../../shared/pki/x509.js";
import { freePort, startTestGateway, tempDir, waitFor } from "../harness.js";
import { enrolTestKiosk, identityOf, refusal, rememberPem, type SecureGateway, startSecureGateway, startSuiteKiosk, suite, tlsClient } from "./rig.js";

const KIOSK = "kz-ren-0001";

export function renewalTests(): void {
  describe("the gateway renews a kiosk's certificate before it expires, with no one running sos rotate", () => {
    const dir = tempDir("sos-sec-renew-");
    afterAll(() => dir.remove());

    it("a kiosk whose certificate expires within renewBeforeDays is renewed at the gateway's start, reconnects with the new one, and the old one is revoked", async () => {
      const port = await freePort();
      const mqtts = { host: "127.0.0.1", port };
      // Enrolled at a gateway issuing 10-day certificates (renewing 5 days ahead: not due yet)…
      const first = await startSecureGateway(dir.path, { mqtts, security: { kioskCertDays: 10, renewBeforeDays: 5 } });
      let config;
      try {
        config = await enrolTestKiosk(first, KIOSK, dir.path);
        expect(first.logs.find("certificate expires soon: renewal queued")).toEqual([]);
      } finally {
        await first.stop();
      }
      const old = identityOf(config);
      const oldInfo = certificateInfo(old.cert.toString("utf8"));
      expect(oldInfo.notAfter.getTime() - Date.now()).toBeLessThan(11 * 86_400_000);

      // …then the gateway starts with the defaults (825-day certificates, renewed 90 days ahead).
      const started = await startTestGateway(first.dataDir, { store: { url: first.storeUrl }, mqtts, commands: { pollMs: 100, resendMs: 2_000 } });
      suite.logs.push(started.logs);
      const gateway: SecureGateway = { ...started, caCertPem: first.caCertPem, mqttsUrl: first.mqttsUrl, httpsBase: first.httpsBase };
      const agent = await startSuiteKiosk(config);
      try {
        expect(gateway.logs.find("certificate expires soon: renewal queued")).toEqual([
          expect.objectContaining({ kioskId: KIOSK, serial: oldInfo.serial, notAfter: oldInfo.notAfter.toISOString() }),
        ]);
        await waitFor(() => gateway.logs.find("kiosk connected with its renewed certificate: older certificates revoked", (l) => l.kioskId === KIOSK)[0], "renewal completed", 20_000);
        const tls = config.mqtt.tls;
        if (tls === undefined) throw new Error("no tls");
        rememberPem(readFileSync(tls.key, "utf8"));
        const renewed = certificateInfo(readFileSync(tls.cert, "utf8"));
        expect(renewed.serial).not.toBe(oldInfo.serial);
        expect(renewed.notAfter.getTime() - Date.now()).toBeGreaterThan(800 * 86_400_000);
        const certs = await gateway.store.security.certificatesOf(KIOSK);
        expect(certs.map((c) => [c.serial, c.revokedAt === null])).toEqual([
          [oldInfo.serial, false],
          [renewed.serial, true],
        ]);
        // Exactly one renewal was queued: the new certificate is not due.
        expect(gateway.logs.find("certificate expires soon: renewal queued")).toHaveLength(1);
        // The old certificate is refused; the kiosk still raises alarms with the new one.
        expect((await refusal(tlsClient(gateway, KIOSK, old)))?.code).toBe(5);
        agent.raise("test");
        await waitFor(() => agent.outbox.depth === 0, "alert acknowledged after renewal");
      } finally {
        await agent.stop();
        await gateway.stop();
      }
    });
  });
}

/** Revocation: `sos revoke` cuts a live session within a second, and the kiosk cannot come back. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revokeKiosk } from "../../../scripts/commands/revoke.js";
import { describeStore } from "../../../gateway/store/open.js";
import { connectRaw, provisionTestKiosk, spawnSos, storeArgs, tempDir, waitFor } from "../harness.js";
import { enrolTestKiosk, identityOf, refusal, rememberSecret, type SecureGateway, startSecureGateway, startSuiteKiosk, suite, tlsClient } from "./rig.js";

const CERT_KIOSK = "kz-rev-0001";
const PASSWORD_KIOSK = "kz-rev-0002";

export function revocationTests(): void {
  describe("a revoked kiosk is cut off at once and stays out", () => {
    const dir = tempDir("sos-sec-rev-");
    let gateway: SecureGateway;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path);
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    it("a live certificate session is cut within 1 s of 'sos revoke', and the kiosk cannot reconnect", async () => {
      const config = await enrolTestKiosk(gateway, CERT_KIOSK, dir.path);
      const agent = await startSuiteKiosk(config);
      try {
        await waitFor(() => agent.logs.find("connected to gateway").length > 0, "kiosk connected");
        const connectedBefore = gateway.logs.find("kiosk connected", (l) => l.kioskId === CERT_KIOSK).length;
        const started = Date.now();
        expect(await revokeKiosk(CERT_KIOSK, { dataDir: gateway.dataDir, store: gateway.storeUrl })).toBe(1);
        await waitFor(() => gateway.logs.find("kiosk disconnected", (l) => l.kioskId === CERT_KIOSK)[0], "live session cut", 2_000);
        const cutAfterMs = Date.now() - started;
        expect(cutAfterMs).toBeLessThan(1_000);
        // The agent keeps trying (100-500 ms backoff in tests): every attempt is refused.
        await waitFor(() => gateway.logs.find("connection refused", (l) => l.clientId === CERT_KIOSK && String(l.reason).startsWith("certificate revoked")).length >= 2, "reconnects refused", 5_000);
        expect(gateway.logs.find("kiosk connected", (l) => l.kioskId === CERT_KIOSK)).toHaveLength(connectedBefore);
        const err = await refusal(tlsClient(gateway, CERT_KIOSK, identityOf(config)));
        expect(err?.code).toBe(5);
        expect((await gateway.metrics.render()).body).toMatch(/sos_mqtt_refused_connections_total\{reason="certificate-revoked"\} [1-9]/);
      } finally {
        await agent.stop();
      }
    });

    it("'sos revoke' also refuses a password kiosk's password and ends its session", async () => {
      const config = await provisionTestKiosk(gateway, PASSWORD_KIOSK, gateway.mqttUrl, dir.path);
      const password = rememberSecret(config.mqtt.password ?? "");
      const client = await connectRaw(gateway.mqttUrl, { clientId: PASSWORD_KIOSK, username: PASSWORD_KIOSK, password });
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      const cli = spawnSos(["revoke", PASSWORD_KIOSK, ...storeArgs(gateway)]);
      const exit = await cli.exited;
      suite.text.push(...cli.stdout, ...cli.stderr);
      expect(exit.code).toBe(0);
      expect(cli.stdout.join("\n")).toContain(`revoked kiosk ${PASSWORD_KIOSK}`);
      await closed;
      await client.endAsync(true);
      const err = await refusal(connectRaw(gateway.mqttUrl, { clientId: PASSWORD_KIOSK, username: PASSWORD_KIOSK, password }));
      expect(err?.code).toBe(5);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.clientId === PASSWORD_KIOSK && l.reason === "kiosk revoked")[0], "password refusal logged");
    });

    it("'sos revoke' of an unknown kiosk is a one-line error and exit 1", async () => {
      const cli = spawnSos(["revoke", "kz-rev-9999", ...storeArgs(gateway)]);
      const exit = await cli.exited;
      expect(exit.code).toBe(1);
      expect(cli.stderr).toEqual([`sos: no kiosk kz-rev-9999 in ${describeStore({ url: gateway.storeUrl, dataDir: gateway.dataDir })}: check the id with 'sos kiosks'`]);
    });
  });
}

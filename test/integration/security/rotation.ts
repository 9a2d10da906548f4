/** Rotation: a new certificate over the commands topic, the old one revoked once the kiosk uses the new one. */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateKiosk } from "../../../scripts/commands/rotate.js";
import { certificateInfo } from "../../../shared/pki/x509.js";
import { tempDir, waitFor } from "../harness.js";
import { enrolTestKiosk, identityOf, refusal, rememberPem, type SecureGateway, startSecureGateway, startSuiteKiosk, tlsClient } from "./rig.js";

const KIOSK = "kz-rot-0001";

export function rotationTests(): void {
  describe("sos rotate renews a kiosk's certificate through the command outbox", () => {
    const dir = tempDir("sos-sec-rot-");
    let gateway: SecureGateway;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path, { commands: { pollMs: 100, resendMs: 2_000 } });
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    it("the kiosk makes a new key, gets a certificate for it, reconnects with it, and only then is the old one revoked", async () => {
      const config = await enrolTestKiosk(gateway, KIOSK, dir.path);
      const old = identityOf(config);
      const oldSerial = certificateInfo(old.cert.toString("utf8")).serial;
      const agent = await startSuiteKiosk(config);
      try {
        await waitFor(() => agent.logs.find("connected to gateway").length > 0, "kiosk connected");
        await rotateKiosk(KIOSK, { dataDir: gateway.dataDir });
        await waitFor(() => gateway.logs.find("kiosk connected with its renewed certificate: older certificates revoked", (l) => l.kioskId === KIOSK)[0], "rotation completed", 15_000);
        const tls = config.mqtt.tls;
        if (tls === undefined) throw new Error("no tls");
        const newKey = readFileSync(tls.key, "utf8");
        rememberPem(newKey);
        const newSerial = certificateInfo(readFileSync(tls.cert, "utf8")).serial;
        expect(newSerial).not.toBe(oldSerial);
        expect(newKey).not.toBe(old.key.toString("utf8"));
        const certs = await gateway.store.security.certificatesOf(KIOSK);
        expect(certs.map((c) => [c.serial, c.revokedAt === null])).toEqual([
          [oldSerial, false],
          [newSerial, true],
        ]);
        // The new private key never travelled: no command or result the gateway stored holds it.
        const keyLine = newKey.split("\n")[1] ?? "";
        const commands = await gateway.store.pendingCommands(KIOSK);
        expect(JSON.stringify(commands)).not.toContain(keyLine);
        expect(gateway.logs.raw.join("\n")).not.toContain(keyLine);
        // The old certificate is refused; the kiosk still raises alarms with the new one.
        expect((await refusal(tlsClient(gateway, KIOSK, old)))?.code).toBe(5);
        agent.raise("test");
        await waitFor(() => agent.outbox.depth === 0, "alert acknowledged after rotation");
      } finally {
        await agent.stop();
      }
    });
  });
}

/** Rotation: a new certificate over the commands topic, the old one revoked once the kiosk uses the new one. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateKiosk } from "../../../scripts/commands/rotate.js";
import { certificateInfo } from "../../../shared/pki/x509.js";
import { tempDir, waitFor } from "../harness.js";
import { enrolTestKiosk, identityOf, makeIdentity, refusal, rememberPem, type SecureGateway, startSecureGateway, startSuiteKiosk, tlsClient } from "./rig.js";

const KIOSK = "kz-rot-0001";
const SWAP_KIOSK = "kz-rot-0002";
const MISMATCH_KIOSK = "kz-rot-0003";

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
        await rotateKiosk(KIOSK, { dataDir: gateway.dataDir, store: gateway.storeUrl });
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

    it("a kiosk whose swap was cut between the two renames (new key, old certificate) finishes it at start and connects", async () => {
      const config = await enrolTestKiosk(gateway, SWAP_KIOSK, dir.path);
      const tls = config.mqtt.tls;
      if (tls === undefined) throw new Error("no tls");
      const old = identityOf(config);
      const renewed = await makeIdentity(SWAP_KIOSK, { gateway, record: true });
      // What the power cut left: the new key renamed in, the new certificate still beside the old one.
      writeFileSync(`${tls.key}.old`, old.key);
      writeFileSync(tls.key, renewed.key);
      writeFileSync(`${tls.cert}.new`, renewed.cert);
      const agent = await startSuiteKiosk(config);
      try {
        await waitFor(() => agent.logs.find("connected to gateway").length > 0, "kiosk connected after recovery");
        expect(agent.logs.find("interrupted certificate swap recovered: the new key and certificate are in place")).toEqual([
          expect.objectContaining({ serial: renewed.serial }),
        ]);
        expect(readFileSync(tls.cert, "utf8")).toBe(renewed.cert);
        expect(existsSync(`${tls.cert}.new`) || existsSync(`${tls.key}.old`)).toBe(false);
        agent.raise("test");
        await waitFor(() => agent.outbox.depth === 0, "alert acknowledged with the recovered pair");
      } finally {
        await agent.stop();
      }
    });

    it("a key and certificate that do not match, with nothing to recover, get one error line saying how to fix it; presses are kept and sent once the files are right", async () => {
      const config = await enrolTestKiosk(gateway, MISMATCH_KIOSK, dir.path);
      const tls = config.mqtt.tls;
      if (tls === undefined) throw new Error("no tls");
      const good = identityOf(config);
      const other = await makeIdentity(MISMATCH_KIOSK, { gateway });
      writeFileSync(tls.key, other.key);
      const agent = await startSuiteKiosk(config);
      try {
        const alert = agent.raise("test");
        expect(agent.outbox.depth).toBe(1);
        await waitFor(() => agent.logs.lines.some((l) => l.level === "error"), "the start-up check's error line");
        await new Promise((r) => setTimeout(r, 1_000)); // a few link retries (100-500 ms backoff)
        expect(agent.logs.lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([
          `the kiosk's TLS key and certificate do not match (the certificate is not for the private key): it cannot connect to the gateway; revoke it at the gateway ('sos revoke ${MISMATCH_KIOSK}') and enrol it again here ('sos enroll --token-file FILE … --force')`,
        ]);
        expect(agent.logs.find("connected to gateway")).toEqual([]);
        // The technician puts the right key back: the link, still retrying, connects and sends the press.
        writeFileSync(tls.key, good.key);
        await waitFor(() => agent.outbox.depth === 0, "the press acknowledged once the files are right");
        expect(await gateway.store.getAlert(alert.alertId)).toBeDefined();
      } finally {
        await agent.stop();
      }
    });
  });
}

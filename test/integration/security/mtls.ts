/** Mutual TLS: who may connect on the TLS listener, and what a certificate kiosk may touch. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KioskConfig } from "../../../shared/config/kiosk.js";
import { topicFor } from "../../../shared/contract.js";
import { tempDir, waitFor } from "../harness.js";
import { connectTls, refusal, tlsClient, enrolTestKiosk, identityOf, makeIdentity, type SecureGateway, startSecureGateway, startSuiteKiosk } from "./rig.js";

const KIOSK = "kz-tls-0001";
const OTHER = "kz-tls-0002";


export function mutualTlsTests(): void {
  describe("MQTT over TLS requires a client certificate from this gateway's CA", () => {
    const dir = tempDir("sos-sec-mtls-");
    let gateway: SecureGateway;
    let kiosk: KioskConfig;
    let other: KioskConfig;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path);
      kiosk = await enrolTestKiosk(gateway, KIOSK, dir.path);
      other = await enrolTestKiosk(gateway, OTHER, dir.path);
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    it("an enrolled kiosk connects with its own certificate and its press is stored and acknowledged", async () => {
      expect(kiosk.mqtt.url).toBe(gateway.mqttsUrl);
      expect(kiosk.mqtt.password).toBeUndefined();
      const agent = await startSuiteKiosk(kiosk);
      try {
        await waitFor(() => agent.logs.find("connected to gateway").length > 0, "kiosk connected over TLS");
        agent.button.press();
        await waitFor(() => agent.outbox.depth === 0 && agent.logs.find("alert acknowledged by gateway").length > 0, "alert acknowledged by gateway");
        expect((await gateway.store.listAlerts()).map((a) => a.kioskId)).toEqual([KIOSK]);
      } finally {
        await agent.stop();
      }
    });

    it("refuses a client with no certificate at the TLS handshake, and logs and counts it", async () => {
      expect(await refusal(tlsClient(gateway, KIOSK, {}))).toBeDefined();
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === "no client certificate")[0], "refusal logged");
      expect((await gateway.metrics.render()).body).toMatch(/sos_mqtt_refused_connections_total\{reason="tls-no-certificate"\} [1-9]/);
    });

    it("refuses a certificate from another CA, even with the kiosk's CN", async () => {
      const foreign = await makeIdentity(KIOSK, {});
      expect(await refusal(tlsClient(gateway, KIOSK, foreign))).toBeDefined();
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === "client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE")[0], "untrusted certificate logged");
    });

    it("refuses an expired certificate from this CA", async () => {
      const expired = await makeIdentity(KIOSK, { gateway, notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000), record: true });
      expect(await refusal(tlsClient(gateway, KIOSK, expired))).toBeDefined();
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === "client certificate refused: CERT_HAS_EXPIRED")[0], "expired certificate logged");
      expect((await gateway.metrics.render()).body).toMatch(/sos_mqtt_refused_connections_total\{reason="tls-certificate-expired"\} [1-9]/);
    });

    it("refuses a certificate this CA signed but the registry never recorded", async () => {
      const unrecorded = await makeIdentity(KIOSK, { gateway });
      const err = await refusal(connectTls(gateway, KIOSK, unrecorded));
      expect(err?.code).toBe(5);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === "certificate not in this gateway's registry")[0], "unknown certificate logged");
    });

    it("refuses a client id that is not the certificate's CN (no taking over another kiosk's session)", async () => {
      const err = await refusal(connectTls(gateway, OTHER, identityOf(kiosk)));
      expect(err?.code).toBe(2);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.clientId === OTHER && String(l.reason).startsWith("client id must equal the certificate's CN"))[0], "CN mismatch logged");
    });

    it("a certificate kiosk cannot subscribe to another kiosk's topics or '#', nor publish under another kiosk", async () => {
      // Each refused filter costs the connection.
      for (const filter of ["#", `sos/v1/kiosks/${OTHER}/acks`, "sos/v1/kiosks/+/commands"]) {
        const probe = await connectTls(gateway, KIOSK, identityOf(kiosk));
        try {
          await expect(probe.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow("Connection closed");
          await waitFor(() => gateway.logs.find("subscription refused: client disconnected", (l) => l.clientId === KIOSK && l.topic === filter)[0], `${filter} refusal logged`);
        } finally {
          await probe.endAsync(true);
        }
      }
      const client = await connectTls(gateway, KIOSK, identityOf(kiosk));
      try {
        const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
        const alert = { v: 1, alertId: randomUUID(), kioskId: OTHER, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 1, lon: 2, address: "x" } };
        client.publish(topicFor("alerts", OTHER), JSON.stringify(alert), { qos: 1 });
        await closed;
        await waitFor(() => gateway.logs.find("publish refused: client disconnected", (l) => l.clientId === KIOSK && l.reason === `topic belongs to kiosk ${OTHER}`)[0], "publish refusal logged");
        expect((await gateway.store.listAlerts()).filter((a) => a.kioskId === OTHER)).toEqual([]);
      } finally {
        await client.endAsync(true);
      }
      expect(other.kioskId).toBe(OTHER);
    });
  });
}

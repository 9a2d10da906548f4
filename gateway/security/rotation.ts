/**
 * Certificate rotation (`sos rotate KIOSK_ID`), through the durable command outbox:
 *
 *   1. `renew-certificate` → the kiosk makes a new key pair and answers with a CSR (the key stays on it);
 *   2. the gateway issues a certificate for it and queues `install-certificate`;
 *   3. the kiosk installs it and reconnects; once it has connected with the new certificate, every
 *      older certificate of the kiosk is revoked.
 *
 * A lost step is sent again by the command outbox; the kiosk answers a repeated renewal with the same CSR.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { commandResultSchema } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import { errorMessage } from "../../shared/errors.js";
import { certificateInfo, importKeyPair, issueCertificate, parseCsr } from "../../shared/pki/x509.js";
import type { GatewayEvents } from "../events.js";
import { loadCa } from "../pki/ca.js";
import type { GatewayStore } from "../store/store.js";

export interface RotationDeps {
  readonly store: GatewayStore;
  readonly events: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  /** The serial of the certificate a kiosk's live session was made with. */
  readonly sessionSerial: (kioskId: string) => string | undefined;
  /** Sends queued commands to the kiosk now. */
  readonly wake: (kioskId: string) => void;
}

/** The renewal command `sos rotate` queues. */
export function renewCommand(): { commandId: string; payload: string } {
  const commandId = randomUUID();
  return { commandId, payload: JSON.stringify({ v: 1, commandId, type: "renew-certificate" }) };
}

export class CertificateRotation {
  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: RotationDeps,
  ) {}

  attach(): void {
    const { events } = this.deps;
    events.on("command.confirmed", "certificate-rotation", (e) => this.onConfirmed(e.commandId, e.kioskId));
    events.on("kiosk.connected", "certificate-rotation", (e) => this.onConnected(e.kioskId));
  }

  private async onConfirmed(commandId: string, kioskId: string): Promise<void> {
    const { store, log, clock } = this.deps;
    const command = await store.security.getCommand(commandId);
    if (command === undefined || command.result === null) return;
    if (command.payload.includes('"install-certificate"')) return this.onInstalled(kioskId, commandId, command.payload, command.result);
    if (!command.payload.includes('"renew-certificate"')) return;
    const result = commandResultSchema.safeParse(JSON.parse(command.result));
    if (!result.success || result.data.status !== "ok") return log.error({ kioskId, commandId }, "certificate renewal failed at the kiosk; run 'sos rotate' again (a certificate that expires soon is renewed again automatically)");
    try {
      const sent = result.data.data.csr;
      const csr = await parseCsr(typeof sent === "string" ? sent : "");
      if (csr.commonName !== kioskId) throw new Error(`the CSR's CN (${csr.commonName ?? "none"}) is not the kiosk id`);
      const ca = loadCa(this.config.dataDir);
      const now = clock.now();
      const cert = await issueCertificate({
        caCertPem: ca.certPem,
        caKeys: await importKeyPair(ca.keyPem, ca.certPem),
        subjectPublicKey: csr.publicKey,
        commonName: kioskId,
        usage: "client",
        notAfter: new Date(now.getTime() + this.config.security.kioskCertDays * 86_400_000),
      });
      const install = randomUUID();
      const payload = JSON.stringify({ v: 1, commandId: install, type: "install-certificate", certificate: cert.pem });
      await store.security.recordCertificate({ serial: cert.serial, kioskId, fingerprint: cert.fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter }, now, { commandId: install, payload });
      log.info({ kioskId, serial: cert.serial }, "renewed certificate issued; sending it to the kiosk");
      this.deps.wake(kioskId);
    } catch (err) {
      log.error({ kioskId, commandId, reason: errorMessage(err) }, "certificate renewal refused");
    }
  }

  /**
   * A certificate the kiosk reports it could not install is never used: it is revoked, so that the
   * kiosk's newest certificate is again the one it has (and automatic renewal sees it expire). The kiosk
   * answers "error" only with its old key and certificate back in place (device/link/tls-swap.ts); any
   * other answer that is not "ok" says nothing sure, and the certificate is kept (revoking one the kiosk
   * may have installed would lock it out).
   */
  private async onInstalled(kioskId: string, commandId: string, payload: string, resultJson: string): Promise<void> {
    const { store, log, clock } = this.deps;
    let parsed: unknown;
    try {
      parsed = JSON.parse(resultJson);
    } catch {
      parsed = undefined;
    }
    const result = commandResultSchema.safeParse(parsed);
    if (result.success && result.data.status === "ok") return;
    if (!result.success) {
      return log.error({ kioskId, commandId }, "the kiosk's answer to install-certificate cannot be read: its renewed certificate is kept (not revoked); check the kiosk's logs");
    }
    try {
      const sent = (JSON.parse(payload) as { certificate?: unknown }).certificate;
      const serial = certificateInfo(typeof sent === "string" ? sent : "").serial;
      const revoked = await store.security.revokeCertificate(kioskId, serial, clock.now());
      const reason = result.data.status === "error" ? result.data.error.message : "";
      log.error({ kioskId, commandId, serial, revoked, reason }, "the kiosk could not install its renewed certificate: that certificate is revoked; run 'sos rotate' again (one that expires soon is renewed again automatically)");
    } catch (err) {
      log.error({ kioskId, commandId, reason: errorMessage(err) }, "the kiosk could not install its renewed certificate");
    }
  }

  private async onConnected(kioskId: string): Promise<void> {
    const serial = this.deps.sessionSerial(kioskId);
    if (serial === undefined) return;
    const revoked = await this.deps.store.security.revokeOlderCertificates(kioskId, serial, this.deps.clock.now());
    if (revoked > 0) this.deps.log.info({ kioskId, serial, revoked }, "kiosk connected with its renewed certificate: older certificates revoked");
  }
}

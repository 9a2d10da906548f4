/**
 * How a kiosk proves who it is:
 *
 * - on MQTT over TLS, by its client certificate: TLS has already checked the chain to our CA and the
 *   validity dates; here the certificate must be one this gateway issued and recorded (by serial),
 *   not revoked, its CN the kiosk id and equal to the MQTT client id;
 * - on the plain listener (demo and development), by its password (scrypt); an address with too
 *   many failures is refused before any scrypt runs, except a kiosk whose password this gateway has
 *   already verified (no scrypt needed): a guesser behind the same NAT address does not lock it out.
 */
import type { TLSSocket } from "node:tls";
import type { AuthenticateError, Client } from "aedes";
import type DataLoader from "dataloader";
import { kioskIdSchema } from "../../shared/contract.js";
import { normaliseSerial } from "../../shared/pki/x509.js";
import type { FailedLoginLimiter } from "../operators/limiter.js";
import { VerifiedSecretCache } from "../registry/credentials.js";
import { batchedLookup } from "../store/batched-lookup.js";
import { type CertificateRecord, REVOKED_PASSWORD } from "../store/security-store.js";
import type { GatewayStore, KioskRecord } from "../store/store.js";
import type { KioskPrincipal } from "./acl.js";

// Aedes' AuthErrorCode is a const enum, which isolatedModules cannot import: the MQTT 3.1.1 codes.
export const IDENTIFIER_REJECTED = 2;
export const SERVER_UNAVAILABLE = 3;
export const BAD_USERNAME_OR_PASSWORD = 4;
export const NOT_AUTHORIZED = 5;

export type RefusalError = AuthenticateError & { label?: string };

const LOGIN_REFUSAL = Symbol("sos.loginRefusal");

/** An MQTT refusal; `label` is the metric label (never a client's name or secret). */
export function authError(returnCode: number, message: string, label?: string): RefusalError {
  return Object.assign(new Error(message), { returnCode, [LOGIN_REFUSAL]: true, ...(label === undefined ? {} : { label }) });
}

/** Whether an error is a login refusal made by authError (already logged as "connection refused"). */
export function isLoginRefusal(err: unknown): boolean {
  return typeof err === "object" && err !== null && LOGIN_REFUSAL in err;
}

/** A refused connection's metric label: the MQTT return code, not the message (which can name a client). */
export function refusalLabel(returnCode: number | undefined): string {
  if (returnCode === IDENTIFIER_REJECTED) return "identifier-rejected";
  if (returnCode === SERVER_UNAVAILABLE) return "server-unavailable";
  if (returnCode === BAD_USERNAME_OR_PASSWORD) return "bad-credentials";
  if (returnCode === NOT_AUTHORIZED) return "not-authorized";
  return "other";
}

/**
 * The registry is read afresh at every connection (a revoked kiosk or certificate is refused at its
 * next one), but the connections of a few milliseconds are read together: a reconnect storm of
 * thousands of kiosks (a node of a cluster died) costs a few statements, not one or two per kiosk.
 */
const LOOKUP_WINDOW_MS = 5;

export class KioskAuthenticator {
  private readonly secrets = new VerifiedSecretCache();
  private readonly kiosks: DataLoader<string, KioskRecord | undefined>;
  private readonly certificates: DataLoader<string, CertificateRecord | undefined>;

  constructor(
    store: GatewayStore,
    private readonly limiter: FailedLoginLimiter,
  ) {
    this.kiosks = batchedLookup((ids) => store.getKiosks(ids), (k) => k.kioskId, LOOKUP_WINDOW_MS);
    this.certificates = batchedLookup((serials) => store.security.getCertificates(serials), (c) => c.serial, LOOKUP_WINDOW_MS);
  }

  async byCertificate(client: Client, socket: TLSSocket): Promise<KioskPrincipal> {
    // rejectUnauthorized already ended any connection without a valid chain; this is a second lock.
    if (!socket.authorized) throw authError(NOT_AUTHORIZED, `client certificate not trusted: ${String(socket.authorizationError)}`, "certificate-untrusted");
    const peer = socket.getPeerCertificate();
    const cn = peer.subject?.CN;
    const kioskId = Array.isArray(cn) ? undefined : cn;
    if (kioskId === undefined || !kioskIdSchema.safeParse(kioskId).success) throw authError(NOT_AUTHORIZED, "the certificate's CN is not a kiosk id", "certificate-cn");
    if (client.id !== kioskId) throw authError(IDENTIFIER_REJECTED, `client id must equal the certificate's CN (${kioskId})`, "identifier-rejected");
    const serial = normaliseSerial(peer.serialNumber);
    const cert = await this.certificates.load(serial);
    if (cert === undefined || cert.kioskId !== kioskId) throw authError(NOT_AUTHORIZED, "certificate not in this gateway's registry", "certificate-unknown");
    if (cert.revokedAt !== null) throw authError(NOT_AUTHORIZED, `certificate revoked at ${cert.revokedAt}`, "certificate-revoked");
    const kiosk = await this.kiosks.load(kioskId);
    if (kiosk === undefined) throw authError(NOT_AUTHORIZED, "unknown kiosk", "bad-credentials");
    return { role: "kiosk", kioskId, serial };
  }

  async byPassword(client: Client, username: string, password: Buffer | undefined, address: string): Promise<KioskPrincipal> {
    if (password === undefined) throw authError(BAD_USERNAME_OR_PASSWORD, "no username or password");
    if (!kioskIdSchema.safeParse(username).success) throw authError(BAD_USERNAME_OR_PASSWORD, "username is not a kiosk id");
    if (client.id !== username) throw authError(IDENTIFIER_REJECTED, "client id must equal the kiosk id");
    const retryAfterMs = this.limiter.retryAfterMs(address);
    if (retryAfterMs > 0) {
      // Over the limit, no scrypt runs: only a password already verified for this kiosk gets in.
      const known = await this.kiosks.load(username);
      if (known !== undefined && known.secretHash !== REVOKED_PASSWORD && this.secrets.knows(password.toString("utf8"), known.secretHash)) return { role: "kiosk", kioskId: known.kioskId };
      throw authError(NOT_AUTHORIZED, `too many failed logins from this address: retry in ${Math.ceil(retryAfterMs / 1_000)} s`, "rate-limited");
    }
    // Only failures count, once known (unlike operator logins, which count up front): a fleet behind
    // one NAT address reconnecting at once after a gateway restart must not lock itself out. The
    // concurrent guesses that can slip past are bounded by the connection rate limit.
    const kiosk = await this.kiosks.load(username);
    if (kiosk === undefined) {
      this.limiter.fail(address);
      throw authError(BAD_USERNAME_OR_PASSWORD, "unknown kiosk");
    }
    if (kiosk.secretHash === REVOKED_PASSWORD) throw authError(NOT_AUTHORIZED, "kiosk revoked", "revoked");
    const ok = await this.secrets.verify(password.toString("utf8"), kiosk.secretHash);
    if (!ok) {
      this.limiter.fail(address);
      throw authError(BAD_USERNAME_OR_PASSWORD, "wrong password");
    }
    return { role: "kiosk", kioskId: kiosk.kioskId };
  }
}

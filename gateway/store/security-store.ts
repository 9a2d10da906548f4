/**
 * The store's security side (migration 5): kiosk certificates and their revocation, one-time
 * enrolment tokens (stored as SHA-256 digests), and the revocation log the running gateway polls.
 * SqliteStore exposes it as `store.security`.
 */
import type { Location } from "../../shared/contract.js";

/** A kiosk registered by certificate, or revoked, has this in place of a password hash: no password verifies against it. */
export const NO_PASSWORD = "!none";
export const REVOKED_PASSWORD = "!revoked";

/** A command for the kiosk in the command outbox (kiosk_commands). */
export interface QueuedCommand {
  readonly kioskId: string;
  readonly commandId: string;
  readonly payload: string;
}

export interface CertificateRecord {
  /** Lowercase hex, no leading zeros (shared/pki/x509.ts normaliseSerial). */
  readonly serial: string;
  readonly kioskId: string;
  readonly fingerprint: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  readonly revokedAt: string | null;
}

/** A kiosk whose certificate expires soon (automatic renewal, gateway/security/renewal.ts). */
export interface ExpiringCertificate {
  readonly kioskId: string;
  readonly serial: string;
  readonly notAfter: string;
}

export interface RevocationEvent {
  readonly id: number;
  readonly kioskId: string;
}

export type TokenState = "valid" | "unknown" | "used" | "expired";

export interface TokenRecord {
  readonly site: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly usedBy: string | null;
}

export interface Enrolment {
  readonly tokenHash: string;
  readonly kioskId: string;
  readonly name: string | null;
  readonly location: Location;
  /** The certificate is issued only once the token and the kiosk id have been checked. */
  readonly issue: () => Promise<Omit<CertificateRecord, "kioskId" | "issuedAt" | "revokedAt"> & { pem: string }>;
  readonly now: Date;
}

export type EnrolResult =
  | { readonly outcome: "enrolled"; readonly pem: string; readonly serial: string }
  | { readonly outcome: "token-unknown" | "token-used" | "token-expired" | "kiosk-has-certificate" | "kiosk-registered" };

export interface SecurityStore {
  /**
   * Records an issued certificate; with `install`, queues the command that delivers it to the kiosk in
   * the same transaction (a crash between the two would leave a newest certificate nobody installs).
   */
  recordCertificate(cert: Omit<CertificateRecord, "revokedAt" | "issuedAt">, now: Date, install?: { readonly commandId: string; readonly payload: string }): Promise<void>;
  getCertificate(serial: string): Promise<CertificateRecord | undefined>;
  /** The known ones of these certificates, in no particular order (one statement for a reconnect storm). */
  getCertificates(serials: readonly string[]): Promise<CertificateRecord[]>;
  certificatesOf(kioskId: string): Promise<CertificateRecord[]>;
  /**
   * Revokes every certificate of the kiosk and its password (if it had one), and logs a revocation
   * the running gateway acts on. Returns how many certificates were revoked, or null for an unknown kiosk.
   */
  revokeKiosk(kioskId: string, now: Date): Promise<number | null>;
  /** Revocations logged after `afterId`, oldest first. */
  revocationsSince(afterId: number): Promise<RevocationEvent[]>;
  lastRevocationId(): Promise<number>;

  createTokens(tokenHashes: readonly string[], options: { site: string | null; expiresAt: Date; now: Date }): Promise<void>;
  tokenState(tokenHash: string, now: Date): Promise<TokenState>;
  /** Uses the token and registers the kiosk with its certificate, all or nothing. */
  enrol(enrolment: Enrolment): Promise<EnrolResult>;
  listTokens(): Promise<TokenRecord[]>;

  /** Certificate rotation: a command for the kiosk in the command outbox (kiosk_commands). */
  queueCommand(kioskId: string, commandId: string, payload: string, now: Date): Promise<void>;
  /** Several commands in one transaction (one fsync): all or none. */
  queueCommands(commands: readonly QueuedCommand[], now: Date): Promise<void>;
  /**
   * Queues certificate renewals, at most one per kiosk: a kiosk with a renewal under way (a
   * `renew-certificate` or `install-certificate` command unconfirmed), which another gateway process
   * may have queued since renewalsDue, is skipped. One transaction, the kiosks' rows locked, so two
   * processes renewing together queue each kiosk once. Returns the kiosks queued.
   */
  queueRenewals(commands: readonly QueuedCommand[], now: Date): Promise<string[]>;
  getCommand(commandId: string): Promise<{ kioskId: string; payload: string; result: string | null } | undefined>;
  /** Revokes the kiosk's certificates issued before `serial` was; returns how many. */
  revokeOlderCertificates(kioskId: string, serial: string, now: Date): Promise<number>;
  /** Revokes one certificate (never used: a renewal the kiosk could not install); false when it is unknown or revoked already. */
  revokeCertificate(kioskId: string, serial: string, now: Date): Promise<boolean>;
  /**
   * Certificate kiosks in service (not revoked, not decommissioned, no password) whose newest unrevoked
   * certificate ends before `expiresBefore` and that have no renewal under way (no `renew-certificate`
   * or `install-certificate` command unconfirmed in the command outbox). Soonest first.
   */
  renewalsDue(expiresBefore: Date): Promise<ExpiringCertificate[]>;
}

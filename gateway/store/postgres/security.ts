/** The security tables behind SecurityStore on PostgreSQL (as sqlite/security.ts). */
import {
  type CertificateRecord,
  type Enrolment,
  type EnrolResult,
  type ExpiringCertificate,
  NO_PASSWORD,
  type QueuedCommand,
  REVOKED_PASSWORD,
  type RevocationEvent,
  type SecurityStore,
  type TokenRecord,
  type TokenState,
} from "../security-store.js";
import type { PgClient, Q } from "./client.js";
import { type CertDbRow, toCert } from "../rows.js";


const CERT_COLUMNS = "serial, kiosk_id, fingerprint, not_before, not_after, issued_at, revoked_at";

async function insertCert(q: Q, cert: Omit<CertificateRecord, "revokedAt" | "issuedAt">, now: Date): Promise<void> {
  await q`INSERT INTO kiosk_certificates (serial, kiosk_id, fingerprint, not_before, not_after, issued_at)
          VALUES (${cert.serial}, ${cert.kioskId}, ${cert.fingerprint}, ${cert.notBefore}, ${cert.notAfter}, ${now.toISOString()})`;
}

async function insertCommand(q: Q, kioskId: string, commandId: string, payload: string, now: Date): Promise<void> {
  await q`INSERT INTO kiosk_commands (command_id, kiosk_id, payload, created_at) VALUES (${commandId}, ${kioskId}, ${payload}, ${now.toISOString()})`;
}

/** The token's state; with `lock`, its row stays locked to the end of the transaction. */
async function stateOf(q: Q, tokenHash: string, now: Date, lock: boolean): Promise<TokenState> {
  const [row] = lock
    ? await q<{ expires_at: number; used_at: string | null }[]>`SELECT expires_at, used_at FROM enrolment_tokens WHERE token_hash = ${tokenHash} FOR UPDATE`
    : await q<{ expires_at: number; used_at: string | null }[]>`SELECT expires_at, used_at FROM enrolment_tokens WHERE token_hash = ${tokenHash}`;
  if (row === undefined) return "unknown";
  if (row.used_at !== null) return "used";
  if (row.expires_at <= now.getTime()) return "expired";
  return "valid";
}

async function check(q: Q, e: Enrolment, lock: boolean): Promise<EnrolResult | undefined> {
  const state = await stateOf(q, e.tokenHash, e.now, lock);
  if (state !== "valid") return { outcome: `token-${state}` };
  const [active] = await q<{ n: number }[]>`SELECT COUNT(*) AS n FROM kiosk_certificates WHERE kiosk_id = ${e.kioskId} AND revoked_at IS NULL`;
  if ((active?.n ?? 0) > 0) return { outcome: "kiosk-has-certificate" };
  // Only a revoked kiosk is enrolled again; any other existing one is not taken over by a token.
  const [kiosk] = await q<{ secret_hash: string }[]>`SELECT secret_hash FROM kiosks WHERE kiosk_id = ${e.kioskId}`;
  if (kiosk !== undefined && kiosk.secret_hash !== REVOKED_PASSWORD) return { outcome: "kiosk-registered" };
  return undefined;
}

export class PgSecurityStore implements SecurityStore {
  constructor(private readonly db: PgClient) {}

  async recordCertificate(cert: Omit<CertificateRecord, "revokedAt" | "issuedAt">, now: Date, install?: { readonly commandId: string; readonly payload: string }): Promise<void> {
    await this.db.tx(async (tx) => {
      await insertCert(tx, cert, now);
      if (install !== undefined) await insertCommand(tx, cert.kioskId, install.commandId, install.payload, now);
    });
  }

  async getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    const [row] = await this.db.run((q) => q<CertDbRow[]>`SELECT ${q.unsafe(CERT_COLUMNS)} FROM kiosk_certificates WHERE serial = ${serial}`);
    return row === undefined ? undefined : toCert(row);
  }

  async getCertificates(serials: readonly string[]): Promise<CertificateRecord[]> {
    if (serials.length === 0) return [];
    return (await this.db.run((q) => q<CertDbRow[]>`SELECT ${q.unsafe(CERT_COLUMNS)} FROM kiosk_certificates WHERE serial = ANY(${[...new Set(serials)]}::text[])`)).map(toCert);
  }

  async certificatesOf(kioskId: string): Promise<CertificateRecord[]> {
    return (await this.db.run((q) => q<CertDbRow[]>`SELECT ${q.unsafe(CERT_COLUMNS)} FROM kiosk_certificates WHERE kiosk_id = ${kioskId} ORDER BY issued_at, seq`)).map(toCert);
  }

  revokeKiosk(kioskId: string, now: Date): Promise<number | null> {
    return this.db.tx(async (tx) => {
      const [kiosk] = await tx`SELECT kiosk_id FROM kiosks WHERE kiosk_id = ${kioskId} FOR UPDATE`;
      if (kiosk === undefined) return null;
      const at = now.toISOString();
      const revoked = (await tx`UPDATE kiosk_certificates SET revoked_at = ${at} WHERE kiosk_id = ${kioskId} AND revoked_at IS NULL`).count;
      await tx`UPDATE kiosks SET secret_hash = ${REVOKED_PASSWORD}, updated_at = ${at} WHERE kiosk_id = ${kioskId}`;
      await tx`INSERT INTO revocations (kiosk_id, at) VALUES (${kioskId}, ${at})`;
      return revoked;
    });
  }

  async revocationsSince(afterId: number): Promise<RevocationEvent[]> {
    const rows = await this.db.run((q) => q<{ id: number; kiosk_id: string }[]>`SELECT id, kiosk_id FROM revocations WHERE id > ${afterId} ORDER BY id LIMIT 1000`);
    return rows.map((r) => ({ id: r.id, kioskId: r.kiosk_id }));
  }

  async lastRevocationId(): Promise<number> {
    const [row] = await this.db.run((q) => q<{ id: number | null }[]>`SELECT MAX(id) AS id FROM revocations`);
    return row?.id ?? 0;
  }

  async createTokens(tokenHashes: readonly string[], options: { site: string | null; expiresAt: Date; now: Date }): Promise<void> {
    if (tokenHashes.length === 0) return;
    const rows = tokenHashes.map((token_hash) => ({ token_hash, site: options.site, created_at: options.now.toISOString(), expires_at: options.expiresAt.getTime() }));
    await this.db.run((q) => q`INSERT INTO enrolment_tokens ${q(rows, "token_hash", "site", "created_at", "expires_at")}`);
  }

  tokenState(tokenHash: string, now: Date): Promise<TokenState> {
    return this.db.run((q) => stateOf(q, tokenHash, now, false));
  }

  async enrol(e: Enrolment): Promise<EnrolResult> {
    const before = await this.db.run((q) => check(q, e, false));
    if (before !== undefined) return before;
    const cert = await e.issue();
    return this.db.tx(async (tx): Promise<EnrolResult> => {
      // Checked again with the token's row locked: another request may have used it while the certificate was signed.
      const again = await check(tx, e, true);
      if (again !== undefined) return again;
      const at = e.now.toISOString();
      await tx`UPDATE enrolment_tokens SET used_at = ${at}, used_by = ${e.kioskId} WHERE token_hash = ${e.tokenHash}`;
      await tx`INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, created_at, updated_at)
               VALUES (${e.kioskId}, ${NO_PASSWORD}, ${e.name}, ${e.location.lat}, ${e.location.lon}, ${e.location.address}, ${at}, ${at})
               ON CONFLICT (kiosk_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = COALESCE(excluded.name, kiosks.name),
                 lat = excluded.lat, lon = excluded.lon, address = excluded.address, updated_at = excluded.updated_at`;
      await insertCert(tx, { serial: cert.serial, kioskId: e.kioskId, fingerprint: cert.fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter }, e.now);
      return { outcome: "enrolled", pem: cert.pem, serial: cert.serial };
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.db.run((q) => q<{ site: string | null; created_at: string; expires_at: number; used_at: string | null; used_by: string | null }[]>`
      SELECT site, created_at, expires_at, used_at, used_by FROM enrolment_tokens ORDER BY created_at, token_hash`);
    return rows.map((r) => ({ site: r.site, createdAt: r.created_at, expiresAt: new Date(r.expires_at).toISOString(), usedAt: r.used_at, usedBy: r.used_by }));
  }

  async queueCommand(kioskId: string, commandId: string, payload: string, now: Date): Promise<void> {
    await this.db.run((q) => insertCommand(q, kioskId, commandId, payload, now));
  }

  async queueCommands(commands: readonly QueuedCommand[], now: Date): Promise<void> {
    if (commands.length === 0) return;
    await this.db.tx(async (tx) => {
      for (const c of commands) await insertCommand(tx, c.kioskId, c.commandId, c.payload, now);
    });
  }

  queueRenewals(commands: readonly QueuedCommand[], now: Date): Promise<string[]> {
    if (commands.length === 0) return Promise.resolve([]);
    return this.db.tx(async (tx) => {
      // Locked in one order: two processes renewing overlapping kiosks wait for each other, never deadlock.
      const kioskIds = [...new Set(commands.map((c) => c.kioskId))].sort();
      await tx`SELECT kiosk_id FROM kiosks WHERE kiosk_id = ANY(${kioskIds}::text[]) ORDER BY kiosk_id FOR UPDATE`;
      const queued: string[] = [];
      for (const c of commands) {
        const [underWay] = await tx`SELECT 1 FROM kiosk_commands WHERE kiosk_id = ${c.kioskId} AND confirmed_at IS NULL
                                    AND (payload::json ->> 'type') IN ('renew-certificate', 'install-certificate')`;
        if (underWay !== undefined) continue;
        await insertCommand(tx, c.kioskId, c.commandId, c.payload, now);
        queued.push(c.kioskId);
      }
      return queued;
    });
  }

  async getCommand(commandId: string): Promise<{ kioskId: string; payload: string; result: string | null } | undefined> {
    const [row] = await this.db.run((q) => q<{ kiosk_id: string; payload: string; result: string | null }[]>`SELECT kiosk_id, payload, result FROM kiosk_commands WHERE command_id = ${commandId}`);
    return row === undefined ? undefined : { kioskId: row.kiosk_id, payload: row.payload, result: row.result };
  }

  async revokeOlderCertificates(kioskId: string, serial: string, now: Date): Promise<number> {
    const result = await this.db.run((q) => q`
      UPDATE kiosk_certificates SET revoked_at = ${now.toISOString()} WHERE kiosk_id = ${kioskId} AND revoked_at IS NULL AND serial <> ${serial}
        AND issued_at < (SELECT issued_at FROM kiosk_certificates WHERE serial = ${serial} AND kiosk_id = ${kioskId})`);
    return result.count;
  }

  async revokeCertificate(kioskId: string, serial: string, now: Date): Promise<boolean> {
    const result = await this.db.run((q) => q`UPDATE kiosk_certificates SET revoked_at = ${now.toISOString()} WHERE kiosk_id = ${kioskId} AND serial = ${serial} AND revoked_at IS NULL`);
    return result.count > 0;
  }

  async renewalsDue(expiresBefore: Date): Promise<ExpiringCertificate[]> {
    const rows = await this.db.run((q) => q<{ kiosk_id: string; serial: string; not_after: string }[]>`
      SELECT c.kiosk_id, c.serial, c.not_after FROM kiosk_certificates c JOIN kiosks k ON k.kiosk_id = c.kiosk_id
      WHERE c.revoked_at IS NULL AND k.secret_hash = ${NO_PASSWORD} AND k.decommissioned_at IS NULL AND c.not_after < ${expiresBefore.toISOString()}
        AND c.seq = (SELECT n.seq FROM kiosk_certificates n WHERE n.kiosk_id = c.kiosk_id AND n.revoked_at IS NULL
                     ORDER BY n.issued_at DESC, n.seq DESC LIMIT 1)
        AND NOT EXISTS (SELECT 1 FROM kiosk_commands q WHERE q.kiosk_id = c.kiosk_id AND q.confirmed_at IS NULL
                          AND (q.payload::json ->> 'type') IN ('renew-certificate', 'install-certificate'))
      ORDER BY c.not_after, c.kiosk_id`);
    return rows.map((r) => ({ kioskId: r.kiosk_id, serial: r.serial, notAfter: r.not_after }));
  }
}

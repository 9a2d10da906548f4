/** The security tables (migration 5) behind SecurityStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
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
import { type CertDbRow, toCert } from "../rows.js";


export class SqliteSecurityStore implements SecurityStore {
  constructor(private readonly db: Database.Database) {}

  recordCertificate(cert: Omit<CertificateRecord, "revokedAt" | "issuedAt">, now: Date, install?: { readonly commandId: string; readonly payload: string }): Promise<void> {
    try {
      this.db.transaction(() => {
        this.insertCert(cert, now);
        if (install !== undefined) this.insertCommand(cert.kioskId, install.commandId, install.payload, now);
      })();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    const row = this.db.prepare<[string], CertDbRow>("SELECT * FROM kiosk_certificates WHERE serial = ?").get(serial);
    return Promise.resolve(row === undefined ? undefined : toCert(row));
  }

  getCertificates(serials: readonly string[]): Promise<CertificateRecord[]> {
    const get = this.db.prepare<[string], CertDbRow>("SELECT * FROM kiosk_certificates WHERE serial = ?");
    return Promise.resolve([...new Set(serials)].flatMap((serial) => get.get(serial) ?? []).map(toCert));
  }

  certificatesOf(kioskId: string): Promise<CertificateRecord[]> {
    return Promise.resolve(this.db.prepare<[string], CertDbRow>("SELECT * FROM kiosk_certificates WHERE kiosk_id = ? ORDER BY issued_at").all(kioskId).map(toCert));
  }

  revokeKiosk(kioskId: string, now: Date): Promise<number | null> {
    const tx = this.db.transaction((): number | null => {
      const kiosk = this.db.prepare<[string], { kiosk_id: string }>("SELECT kiosk_id FROM kiosks WHERE kiosk_id = ?").get(kioskId);
      if (kiosk === undefined) return null;
      const at = now.toISOString();
      const revoked = this.db.prepare("UPDATE kiosk_certificates SET revoked_at = ? WHERE kiosk_id = ? AND revoked_at IS NULL").run(at, kioskId).changes;
      this.db.prepare("UPDATE kiosks SET secret_hash = ?, updated_at = ? WHERE kiosk_id = ?").run(REVOKED_PASSWORD, at, kioskId);
      this.db.prepare("INSERT INTO revocations (kiosk_id, at) VALUES (?, ?)").run(kioskId, at);
      return revoked;
    });
    return Promise.resolve(tx.immediate());
  }

  revocationsSince(afterId: number): Promise<RevocationEvent[]> {
    const rows = this.db.prepare<[number], { id: number; kiosk_id: string }>("SELECT id, kiosk_id FROM revocations WHERE id > ? ORDER BY id LIMIT 1000").all(afterId);
    return Promise.resolve(rows.map((r) => ({ id: r.id, kioskId: r.kiosk_id })));
  }

  lastRevocationId(): Promise<number> {
    const row = this.db.prepare<[], { id: number | null }>("SELECT MAX(id) AS id FROM revocations").get();
    return Promise.resolve(row?.id ?? 0);
  }

  createTokens(tokenHashes: readonly string[], options: { site: string | null; expiresAt: Date; now: Date }): Promise<void> {
    const insert = this.db.prepare("INSERT INTO enrolment_tokens (token_hash, site, created_at, expires_at) VALUES (?, ?, ?, ?)");
    this.db.transaction(() => {
      for (const hash of tokenHashes) insert.run(hash, options.site, options.now.toISOString(), options.expiresAt.getTime());
    }).immediate();
    return Promise.resolve();
  }

  tokenState(tokenHash: string, now: Date): Promise<TokenState> {
    return Promise.resolve(this.stateOf(tokenHash, now));
  }

  async enrol(e: Enrolment): Promise<EnrolResult> {
    const before = this.check(e);
    if (before !== undefined) return before;
    const cert = await e.issue();
    const tx = this.db.transaction((): EnrolResult => {
      // Checked again: another request may have used the token while the certificate was signed.
      const again = this.check(e);
      if (again !== undefined) return again;
      const at = e.now.toISOString();
      this.db.prepare("UPDATE enrolment_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?").run(at, e.kioskId, e.tokenHash);
      this.db
        .prepare(
          `INSERT INTO kiosks (kiosk_id, secret_hash, name, lat, lon, address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(kiosk_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = COALESCE(excluded.name, kiosks.name),
             lat = excluded.lat, lon = excluded.lon, address = excluded.address, updated_at = excluded.updated_at`,
        )
        .run(e.kioskId, NO_PASSWORD, e.name, e.location.lat, e.location.lon, e.location.address, at, at);
      this.insertCert({ serial: cert.serial, kioskId: e.kioskId, fingerprint: cert.fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter }, e.now);
      return { outcome: "enrolled", pem: cert.pem, serial: cert.serial };
    });
    return tx.immediate();
  }

  listTokens(): Promise<TokenRecord[]> {
    const rows = this.db
      .prepare<[], { site: string | null; created_at: string; expires_at: number; used_at: string | null; used_by: string | null }>(
        "SELECT site, created_at, expires_at, used_at, used_by FROM enrolment_tokens ORDER BY created_at",
      )
      .all();
    return Promise.resolve(rows.map((r) => ({ site: r.site, createdAt: r.created_at, expiresAt: new Date(r.expires_at).toISOString(), usedAt: r.used_at, usedBy: r.used_by })));
  }

  queueCommand(kioskId: string, commandId: string, payload: string, now: Date): Promise<void> {
    this.insertCommand(kioskId, commandId, payload, now);
    return Promise.resolve();
  }

  // async: a failed insert (a duplicate id) rejects the promise rather than throwing at the call.
  async queueCommands(commands: readonly QueuedCommand[], now: Date): Promise<void> {
    await Promise.resolve();
    this.db.transaction(() => {
      for (const c of commands) this.insertCommand(c.kioskId, c.commandId, c.payload, now);
    }).immediate();
  }

  async queueRenewals(commands: readonly QueuedCommand[], now: Date): Promise<string[]> {
    await Promise.resolve();
    const underWay = this.db.prepare<[string], { n: number }>(
      `SELECT 1 AS n FROM kiosk_commands WHERE kiosk_id = ? AND confirmed_at IS NULL
         AND json_extract(payload, '$.type') IN ('renew-certificate', 'install-certificate')`,
    );
    return this.db.transaction((): string[] => {
      const queued: string[] = [];
      for (const c of commands) {
        if (underWay.get(c.kioskId) !== undefined) continue;
        this.insertCommand(c.kioskId, c.commandId, c.payload, now);
        queued.push(c.kioskId);
      }
      return queued;
    }).immediate();
  }

  private insertCommand(kioskId: string, commandId: string, payload: string, now: Date): void {
    this.db.prepare("INSERT INTO kiosk_commands (command_id, kiosk_id, payload, created_at) VALUES (?, ?, ?, ?)").run(commandId, kioskId, payload, now.toISOString());
  }

  getCommand(commandId: string): Promise<{ kioskId: string; payload: string; result: string | null } | undefined> {
    const row = this.db
      .prepare<[string], { kiosk_id: string; payload: string; result: string | null }>("SELECT kiosk_id, payload, result FROM kiosk_commands WHERE command_id = ?")
      .get(commandId);
    return Promise.resolve(row === undefined ? undefined : { kioskId: row.kiosk_id, payload: row.payload, result: row.result });
  }

  revokeOlderCertificates(kioskId: string, serial: string, now: Date): Promise<number> {
    const changes = this.db
      .prepare(
        `UPDATE kiosk_certificates SET revoked_at = ? WHERE kiosk_id = ? AND revoked_at IS NULL AND serial != ?
           AND issued_at < (SELECT issued_at FROM kiosk_certificates WHERE serial = ? AND kiosk_id = ?)`,
      )
      .run(now.toISOString(), kioskId, serial, serial, kioskId).changes;
    return Promise.resolve(changes);
  }

  revokeCertificate(kioskId: string, serial: string, now: Date): Promise<boolean> {
    const changes = this.db
      .prepare("UPDATE kiosk_certificates SET revoked_at = ? WHERE kiosk_id = ? AND serial = ? AND revoked_at IS NULL")
      .run(now.toISOString(), kioskId, serial).changes;
    return Promise.resolve(changes > 0);
  }

  renewalsDue(expiresBefore: Date): Promise<ExpiringCertificate[]> {
    // One pass over the certificates (a few per kiosk); the open-commands check uses kiosk_commands_open.
    const rows = this.db
      .prepare<{ before: string; none: string }, { kiosk_id: string; serial: string; not_after: string }>(
        `SELECT c.kiosk_id, c.serial, c.not_after FROM kiosk_certificates c JOIN kiosks k ON k.kiosk_id = c.kiosk_id
         WHERE c.revoked_at IS NULL AND k.secret_hash = @none AND k.decommissioned_at IS NULL AND c.not_after < @before
           AND c.rowid = (SELECT n.rowid FROM kiosk_certificates n WHERE n.kiosk_id = c.kiosk_id AND n.revoked_at IS NULL
                          ORDER BY n.issued_at DESC, n.rowid DESC LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM kiosk_commands q WHERE q.kiosk_id = c.kiosk_id AND q.confirmed_at IS NULL
                             AND json_extract(q.payload, '$.type') IN ('renew-certificate', 'install-certificate'))
         ORDER BY c.not_after, c.kiosk_id`,
      )
      .all({ before: expiresBefore.toISOString(), none: NO_PASSWORD });
    return Promise.resolve(rows.map((r) => ({ kioskId: r.kiosk_id, serial: r.serial, notAfter: r.not_after })));
  }

  private check(e: Enrolment): EnrolResult | undefined {
    const state = this.stateOf(e.tokenHash, e.now);
    if (state !== "valid") return { outcome: `token-${state}` };
    const active = this.db
      .prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM kiosk_certificates WHERE kiosk_id = ? AND revoked_at IS NULL")
      .get(e.kioskId);
    if ((active?.n ?? 0) > 0) return { outcome: "kiosk-has-certificate" };
    // Any token may not take over a kiosk that exists (a password kiosk, or one whose certificates
    // expired): only a revoked one is enrolled again.
    const kiosk = this.db.prepare<[string], { secret_hash: string }>("SELECT secret_hash FROM kiosks WHERE kiosk_id = ?").get(e.kioskId);
    if (kiosk !== undefined && kiosk.secret_hash !== REVOKED_PASSWORD) return { outcome: "kiosk-registered" };
    return undefined;
  }

  private stateOf(tokenHash: string, now: Date): TokenState {
    const row = this.db.prepare<[string], { expires_at: number; used_at: string | null }>("SELECT expires_at, used_at FROM enrolment_tokens WHERE token_hash = ?").get(tokenHash);
    if (row === undefined) return "unknown";
    if (row.used_at !== null) return "used";
    if (row.expires_at <= now.getTime()) return "expired";
    return "valid";
  }

  private insertCert(cert: Omit<CertificateRecord, "revokedAt" | "issuedAt">, now: Date): void {
    this.db
      .prepare("INSERT INTO kiosk_certificates (serial, kiosk_id, fingerprint, not_before, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(cert.serial, cert.kioskId, cert.fingerprint, cert.notBefore, cert.notAfter, now.toISOString());
  }
}

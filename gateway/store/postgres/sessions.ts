/** The operator_sessions table behind SessionRecordStore on PostgreSQL (as sqlite/sessions.ts). */
import type { SessionRecord, SessionRecordStore } from "../session-store.js";
import { type SessionDbRow, toSession as toRecord } from "../rows.js";
import type { PgClient } from "./client.js";


export class PgSessionStore implements SessionRecordStore {
  constructor(private readonly db: PgClient) {}

  async put(s: SessionRecord): Promise<void> {
    await this.db.run((q) => q`
      INSERT INTO operator_sessions (id_hash, token_hash, operator, role, client_id, created_at, expires_at)
      VALUES (${s.idHash}, ${s.tokenHash}, ${s.operator}, ${s.role}, ${s.clientId}, ${s.createdAt}, ${s.expiresAt})`);
  }

  async delete(idHashes: readonly string[]): Promise<number> {
    if (idHashes.length === 0) return 0;
    return (await this.db.run((q) => q`DELETE FROM operator_sessions WHERE id_hash = ANY(${[...idHashes]}::text[])`)).count;
  }

  async deleteOf(operator: string): Promise<number> {
    return (await this.db.run((q) => q`DELETE FROM operator_sessions WHERE operator = ${operator}`)).count;
  }

  async deleteExpired(now: Date): Promise<number> {
    return (await this.db.run((q) => q`DELETE FROM operator_sessions WHERE expires_at <= ${now.getTime()}`)).count;
  }

  loadLive(now: Date): Promise<SessionRecord[]> {
    return this.db.tx(async (tx) => {
      await tx`DELETE FROM operator_sessions WHERE expires_at <= ${now.getTime()}`;
      return (await tx<SessionDbRow[]>`SELECT * FROM operator_sessions ORDER BY created_at, id_hash`).map(toRecord);
    });
  }
}

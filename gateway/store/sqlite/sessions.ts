/** The operator_sessions table (migration 8) behind SessionRecordStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
import type { SessionRecord, SessionRecordStore } from "../session-store.js";
import { type SessionDbRow, toSession as toRecord } from "../rows.js";


/** Used by SqliteStore.removeOperator too, in the transaction that removes the operator. */
export function deleteSessionsOf(db: Database.Database, operator: string): number {
  return db.prepare("DELETE FROM operator_sessions WHERE operator = ?").run(operator).changes;
}

export class SqliteSessionStore implements SessionRecordStore {
  constructor(private readonly db: Database.Database) {}

  put(s: SessionRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO operator_sessions (id_hash, token_hash, operator, role, client_id, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.idHash, s.tokenHash, s.operator, s.role, s.clientId, s.createdAt, s.expiresAt);
    return Promise.resolve();
  }

  delete(idHashes: readonly string[]): Promise<number> {
    const del = this.db.prepare("DELETE FROM operator_sessions WHERE id_hash = ?");
    const tx = this.db.transaction((): number => idHashes.reduce((n, hash) => n + del.run(hash).changes, 0));
    return Promise.resolve(tx.immediate());
  }

  deleteOf(operator: string): Promise<number> {
    return Promise.resolve(deleteSessionsOf(this.db, operator));
  }

  deleteExpired(now: Date): Promise<number> {
    return Promise.resolve(this.db.prepare("DELETE FROM operator_sessions WHERE expires_at <= ?").run(now.getTime()).changes);
  }

  loadLive(now: Date): Promise<SessionRecord[]> {
    const tx = this.db.transaction((): SessionRecord[] => {
      this.db.prepare("DELETE FROM operator_sessions WHERE expires_at <= ?").run(now.getTime());
      return this.db.prepare<[], SessionDbRow>("SELECT * FROM operator_sessions ORDER BY created_at, id_hash").all().map(toRecord);
    });
    return Promise.resolve(tx.immediate());
  }
}

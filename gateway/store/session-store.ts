/**
 * The store's side of operator sessions (migration 8): what a gateway restart needs to keep every
 * console logged in. A row holds the SHA-256 of the session id and of its MQTT token, never the
 * secrets. SqliteStore exposes it as `store.sessions`; gateway/operators/sessions.ts caches it.
 */
import type { OperatorRole } from "./store.js";

export interface SessionRecord {
  /** SHA-256 (base64url) of the session id, the cookie's value. */
  readonly idHash: string;
  /** SHA-256 (base64url) of the session's MQTT token. */
  readonly tokenHash: string;
  readonly operator: string;
  readonly role: OperatorRole;
  readonly clientId: string;
  readonly createdAt: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface SessionRecordStore {
  put(session: SessionRecord): Promise<void>;
  /** Deletes these sessions (by id hash); returns how many were there. */
  delete(idHashes: readonly string[]): Promise<number>;
  /** Deletes every session of `operator` (`sos operator remove` does it with the operator); returns how many. */
  deleteOf(operator: string): Promise<number>;
  /** Deletes the sessions expired at `now`; returns how many. */
  deleteExpired(now: Date): Promise<number>;
  /** Deletes the expired sessions, then returns the live ones, oldest first. */
  loadLive(now: Date): Promise<SessionRecord[]>;
}

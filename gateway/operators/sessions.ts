/**
 * Operator sessions, kept in memory for the hot path (every HTTP request, every MQTT connect) and
 * written through to the store (migration 8), so a gateway restart logs nobody out: the page's
 * event stream and MQTT connection come back with the same cookie and token. `load()` reads the
 * live sessions at gateway start (and deletes the expired ones).
 *
 * A session has two secrets: its id (the HttpOnly cookie, 256 random bits) and an MQTT token the
 * page uses as its MQTT password, so it need not keep the operator's password and can reconnect
 * after a reload. The token is an HMAC of the id: whoever holds the cookie may read the token
 * anyway (GET /api/session), and the gateway can give it out again after a restart without ever
 * storing it. Both are looked up by their SHA-256, never stored or logged as they are.
 *
 * A session belongs to the operator record it was granted under: `sos operator add NAME --force`
 * (a new password, a new role) deletes the operator's session rows with the update, and the running
 * gateway, which polls the operators, ends the cached ones whose operator's stamp (operatorStamp:
 * password hash and role) is no longer the one the session was created or loaded under (dropChanged).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { SessionRecord, SessionRecordStore } from "../store/session-store.js";
import type { OperatorRecord, OperatorRole } from "../store/store.js";

export interface Session {
  /** A handle for this session (the SHA-256 of its id, not a secret): what ends with it (its event streams) is keyed by it. */
  readonly key: string;
  readonly operator: string;
  /** As stored at login: a changed role (or password) ends the session (dropChanged). */
  readonly role: OperatorRole;
  /** The MQTT password for this session (returned to the page, never logged). */
  readonly mqttToken: string;
  /** The MQTT client id this session's page uses. */
  readonly clientId: string;
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** Where sessions are written through to and loaded from; without it they live in memory only. */
  readonly persist?: { readonly records: SessionRecordStore; readonly log: Logger };
  readonly maxSessions?: number;
  /** Live sessions per operator: a further login ends that operator's oldest, never another's. */
  readonly maxPerOperator?: number;
}

/** Why sessions ended: logged out, replaced by a newer login (a cap), expired, operator removed or changed. */
export type SessionEnd = "logout" | "evicted" | "expired" | "removed" | "changed";
export type SessionEndListener = (ended: readonly SessionRecord[], why: SessionEnd) => void;

const digest = (secret: string): string => createHash("sha256").update(secret).digest("base64url");
const mqttTokenOf = (id: string): string => createHmac("sha256", id).update("sos operator mqtt token v1").digest("base64url");

/**
 * What a session depends on in its operator's record: the password hash (salted, so a new password
 * changes it even when it is the same password) and the role. Never logged or stored.
 */
export const operatorStamp = (operator: Pick<OperatorRecord, "passwordHash" | "role">): string =>
  createHash("sha256").update(`${operator.role}\n${operator.passwordHash}`).digest("base64url");

/** name → operatorStamp, for load() and dropChanged(). */
export const operatorStamps = (operators: readonly OperatorRecord[]): Map<string, string> => new Map(operators.map((o) => [o.name, operatorStamp(o)]));

/** A session as cached: the stored record, the Session once its id has been seen, its operator's stamp once known. */
interface Entry {
  readonly record: SessionRecord;
  session?: Session;
  stamp?: string;
}

export class SessionStore {
  /** SHA-256 of the id → entry, oldest first. */
  private readonly byId = new Map<string, Entry>();
  /** SHA-256 of the MQTT token → SHA-256 of the id. */
  private readonly byToken = new Map<string, string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly maxSessions: number;
  private readonly maxPerOperator: number;
  private readonly endListeners: SessionEndListener[] = [];

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly options: SessionStoreOptions = {},
  ) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.maxPerOperator = options.maxPerOperator ?? 10;
  }

  /** Called with the sessions that end, whatever the reason (streams and connections opened with them are ended too). */
  onEnded(listener: SessionEndListener): void {
    this.endListeners.push(listener);
  }

  /** Whether the session with this key is live (not ended, not expired). */
  isLive(key: string): boolean {
    const record = this.byId.get(key)?.record;
    return record !== undefined && record.expiresAt > this.clock.now().getTime();
  }

  /**
   * Reads the live sessions from the store (deleting the expired ones); returns how many. A store
   * error is logged: nobody stays logged in. `stamps` (operatorStamps) must be read before: an
   * operator replaced after it has had its rows deleted first, or changes its stamp.
   */
  async load(stamps: ReadonlyMap<string, string> = new Map()): Promise<number> {
    const persist = this.options.persist;
    if (persist === undefined) return 0;
    try {
      for (const record of await persist.records.loadLive(this.clock.now())) {
        const stamp = stamps.get(record.operator);
        this.byId.set(record.idHash, stamp === undefined ? { record } : { record, stamp });
        this.byToken.set(record.tokenHash, record.idHash);
      }
    } catch (err) {
      persist.log.error({ err }, "could not read the operator sessions: every operator must log in again");
    }
    return this.byId.size;
  }

  /** Starts a session; returns its id (for the cookie) and the session. `stamp`: operatorStamp of the record the password was checked against. */
  create(operator: string, clientId: string, role: OperatorRole = "operator", stamp?: string): { id: string; session: Session } {
    this.prune();
    // The operator's own oldest sessions make room (entries are oldest first): one operator's logins
    // never end another's. The global cap is a backstop for thousands of operators.
    const own = [...this.byId].filter(([, entry]) => entry.record.operator === operator).map(([key]) => key);
    if (own.length >= this.maxPerOperator) this.end(own.slice(0, own.length - this.maxPerOperator + 1), "evicted");
    if (this.byId.size >= this.maxSessions) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.end([oldest], "evicted");
    }
    const id = randomBytes(32).toString("base64url");
    const now = this.clock.now();
    const idHash = digest(id);
    const session: Session = { key: idHash, operator, role, mqttToken: mqttTokenOf(id), clientId, expiresAt: now.getTime() + this.ttlMs };
    const record: SessionRecord = { idHash, tokenHash: digest(session.mqttToken), operator, role, clientId, createdAt: now.toISOString(), expiresAt: session.expiresAt };
    this.byId.set(record.idHash, stamp === undefined ? { record, session } : { record, session, stamp });
    this.byToken.set(record.tokenHash, record.idHash);
    this.write("could not store an operator session: it will not survive a restart", { operator }, (records) => records.put(record));
    return { id, session };
  }

  get(id: string): Session | undefined {
    const key = digest(id);
    const entry = this.byId.get(key);
    if (entry === undefined) return undefined;
    const { record } = entry;
    if (record.expiresAt <= this.clock.now().getTime()) {
      this.end([key], "expired");
      return undefined;
    }
    entry.session ??= { key, operator: record.operator, role: record.role, mqttToken: mqttTokenOf(id), clientId: record.clientId, expiresAt: record.expiresAt };
    return entry.session;
  }

  /**
   * Whether `token` is the MQTT token of a live session of `operator`, used with that session's own
   * client id: a token serves its one page's connection, which the session's end closes by that id.
   */
  mqttTokenValid(operator: string, token: string, clientId: string): boolean {
    const key = this.byToken.get(digest(token));
    const record = key === undefined ? undefined : this.byId.get(key)?.record;
    return record !== undefined && record.operator === operator && record.clientId === clientId && record.expiresAt > this.clock.now().getTime();
  }

  /** Ends the sessions past their expiry now (each page's MQTT connection with it: onEnded), not at their next use. */
  endExpired(): number {
    const now = this.clock.now();
    const ended = this.dropExpired(now);
    if (ended.length > 0) this.write("could not delete expired operator sessions from the store", {}, (records) => records.deleteExpired(now));
    return ended.length;
  }

  delete(id: string): boolean {
    return this.end([digest(id)], "logout").length > 0;
  }

  /** Ends the sessions of operators no longer in `present` (removed with `sos operator remove`); returns them. */
  dropAbsent(present: ReadonlySet<string>): SessionRecord[] {
    const absent = [...this.byId].filter(([, entry]) => !present.has(entry.record.operator)).map(([key]) => key);
    return absent.length === 0 ? [] : this.end(absent, "removed");
  }

  /**
   * Ends the sessions of operators whose stamp in `current` (operatorStamps) is not the one they were
   * created or loaded under (`sos operator add NAME --force`: a new password or role); returns them.
   * A session whose stamp is not known yet takes the current one. Absent operators: dropAbsent.
   */
  dropChanged(current: ReadonlyMap<string, string>): SessionRecord[] {
    const changed: string[] = [];
    for (const [key, entry] of this.byId) {
      const stamp = current.get(entry.record.operator);
      if (stamp === undefined) continue;
      if (entry.stamp === undefined) entry.stamp = stamp;
      else if (entry.stamp !== stamp) changed.push(key);
    }
    return changed.length === 0 ? [] : this.end(changed, "changed");
  }

  get size(): number {
    return this.byId.size;
  }

  /** Resolves once every write started so far has finished (or failed and been logged). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Removes these sessions from memory and the store; returns the records that were there. */
  private end(keys: readonly string[], why: SessionEnd): SessionRecord[] {
    const ended: SessionRecord[] = [];
    for (const key of keys) {
      const record = this.byId.get(key)?.record;
      if (record === undefined) continue;
      this.byId.delete(key);
      this.byToken.delete(record.tokenHash);
      ended.push(record);
    }
    if (ended.length === 0) return ended;
    const operators = [...new Set(ended.map((r) => r.operator))];
    this.write("could not delete ended operator sessions from the store: they come back if the gateway restarts before they expire", { operators }, (records) =>
      records.delete(ended.map((r) => r.idHash)),
    );
    this.ended(ended, why);
    return ended;
  }

  private prune(): void {
    const now = this.clock.now();
    this.dropExpired(now);
    // Also any expired row a failed delete left behind.
    this.write("could not delete expired operator sessions from the store", {}, (records) => records.deleteExpired(now));
  }

  /** Removes the sessions past their expiry from memory and tells the listeners; returns them (their rows are the caller's). */
  private dropExpired(now: Date): SessionRecord[] {
    const ended: SessionRecord[] = [];
    for (const [key, entry] of this.byId) {
      if (entry.record.expiresAt > now.getTime()) continue;
      this.byId.delete(key);
      this.byToken.delete(entry.record.tokenHash);
      ended.push(entry.record);
    }
    if (ended.length > 0) this.ended(ended, "expired");
    return ended;
  }

  private ended(records: readonly SessionRecord[], why: SessionEnd): void {
    for (const listener of this.endListeners) {
      try {
        listener(records, why);
      } catch (err) {
        this.options.persist?.log.error({ err }, "a listener for ended operator sessions failed");
      }
    }
  }

  /**
   * Writes through to the store, each write started in call order (SQLite finishes each before the
   * next starts). A failure is logged and the gateway goes on with the session in memory.
   */
  private write(failure: string, context: Record<string, unknown>, op: (records: SessionRecordStore) => Promise<unknown>): void {
    const persist = this.options.persist;
    if (persist === undefined) return;
    // A synchronous throw (SQLite's) becomes a rejection like an asynchronous one.
    const settled = Promise.resolve()
      .then(() => op(persist.records))
      .then(
        () => undefined,
        (err: unknown) => persist.log.error({ err, ...context }, failure),
      );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }
}

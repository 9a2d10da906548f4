/**
 * Operator sessions, in memory: a gateway restart logs everyone out (the page logs in again).
 * A session has two random secrets: its id (the HttpOnly cookie) and an MQTT token the page uses
 * as its MQTT password, so it need not keep the operator's password and can reconnect after a
 * reload. Both are looked up by their SHA-256, never stored or logged as they are.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../../shared/clock.js";
import type { OperatorRole } from "../store/store.js";

export interface Session {
  readonly operator: string;
  /** As stored at login: a changed role takes effect at the next login. */
  readonly role: OperatorRole;
  /** The MQTT password for this session (returned to the page, never logged). */
  readonly mqttToken: string;
  /** The MQTT client id this session's page uses. */
  readonly clientId: string;
  readonly expiresAt: number;
}

const digest = (secret: string): string => createHash("sha256").update(secret).digest("base64url");

export class SessionStore {
  private readonly byId = new Map<string, Session>();
  private readonly byToken = new Map<string, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly maxSessions = 10_000,
  ) {}

  /** Starts a session; returns its id (for the cookie) and the session. */
  create(operator: string, clientId: string, role: OperatorRole = "operator"): { id: string; session: Session } {
    this.prune();
    if (this.byId.size >= this.maxSessions) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.remove(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    const session: Session = { operator, role, mqttToken: randomBytes(32).toString("base64url"), clientId, expiresAt: this.clock.now().getTime() + this.ttlMs };
    this.byId.set(digest(id), session);
    this.byToken.set(digest(session.mqttToken), digest(id));
    return { id, session };
  }

  get(id: string): Session | undefined {
    const key = digest(id);
    const session = this.byId.get(key);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.clock.now().getTime()) {
      this.remove(key);
      return undefined;
    }
    return session;
  }

  /** Whether `token` is the MQTT token of a live session of `operator`. */
  mqttTokenValid(operator: string, token: string): boolean {
    const key = this.byToken.get(digest(token));
    const session = key === undefined ? undefined : this.byId.get(key);
    return session !== undefined && session.operator === operator && session.expiresAt > this.clock.now().getTime();
  }

  delete(id: string): boolean {
    return this.remove(digest(id));
  }

  /** Ends the sessions of operators no longer in `present` (removed with `sos operator remove`); returns them. */
  dropAbsent(present: ReadonlySet<string>): Session[] {
    const dropped: Session[] = [];
    for (const [key, session] of [...this.byId]) {
      if (present.has(session.operator)) continue;
      this.remove(key);
      dropped.push(session);
    }
    return dropped;
  }

  get size(): number {
    return this.byId.size;
  }

  private remove(key: string): boolean {
    const session = this.byId.get(key);
    if (session === undefined) return false;
    this.byId.delete(key);
    this.byToken.delete(digest(session.mqttToken));
    return true;
  }

  private prune(): void {
    const now = this.clock.now().getTime();
    for (const [key, session] of this.byId) if (session.expiresAt <= now) this.remove(key);
  }
}

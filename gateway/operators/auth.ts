/**
 * Checks operator credentials: the operator's password (scrypt) at the HTTP login, and on the MQTT
 * WebSocket a live session's token only (a password there is refused, unchecked: the WebSocket is
 * reachable from any page in the control room's browsers, and guessing on it must not use up the
 * login limit of the operators' address). Failed logins count against the address and slow down the
 * account (limiter.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../../shared/clock.js";
import { hashSecret, verifySecret } from "../registry/credentials.js";
import type { GatewayStore, OperatorRecord } from "../store/store.js";
import { AccountSlowdown, type AccountSlowdownOptions, FailedLoginLimiter } from "./limiter.js";
import { operatorNameSchema } from "./names.js";
import type { SessionStore } from "./sessions.js";

type Refusal =
  | { readonly ok: false; readonly reason: "rate-limited" | "account-busy"; readonly retryAfterMs: number }
  | { readonly ok: false; readonly reason: "unknown operator" | "wrong password" | "invalid name"; readonly slowedMs: number };

/**
 * A password check: on success, the operator record the password was checked against (its role, its
 * stamp). `slowedMs`: how long the account's recent failures made the attempt wait.
 */
export type PasswordResult = { readonly ok: true; readonly via: "password"; readonly operator: OperatorRecord; readonly slowedMs: number } | Refusal;

export type AuthResult = { readonly ok: true; readonly via: "session" } | { readonly ok: false; readonly reason: "not a session token for this client id" };

/**
 * The known-device cookie's value for an operator: an HMAC keyed by the operator's password hash, so
 * only the gateway can make it, every node of a cluster checks it, and a new password voids it.
 */
export function knownDeviceProof(operator: OperatorRecord): string {
  return createHmac("sha256", operator.passwordHash).update(`sos known device v1:${operator.name}`).digest("base64url");
}

function sameProof(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class OperatorAuth {
  readonly limiter: FailedLoginLimiter;
  private readonly slowdown: AccountSlowdown;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: GatewayStore,
    readonly sessions: SessionStore,
    options: { maxFailedPerMinute: number; slowdown?: AccountSlowdownOptions },
    clock: Clock,
  ) {
    this.limiter = new FailedLoginLimiter(options.maxFailedPerMinute, 60_000, clock);
    this.slowdown = new AccountSlowdown(options.slowdown ?? { freeFailures: 3, baseDelayMs: 1_000, maxDelayMs: 15_000, windowMs: 15 * 60_000 }, clock);
  }

  /**
   * The HTTP login: the operator's own password only. `knownDevice`: the account's known-device
   * cookie, if the browser shows one (knownDeviceProof): such a login is not slowed by the
   * account's failures, so a guesser cannot hold the operator's own browser up.
   */
  async verifyPassword(name: string, password: string, address: string, knownDevice?: string): Promise<PasswordResult> {
    const retryAfterMs = this.limiter.retryAfterMs(address);
    if (retryAfterMs > 0) return { ok: false, reason: "rate-limited", retryAfterMs };
    this.limiter.fail(address);
    if (!operatorNameSchema.safeParse(name).success) return { ok: false, reason: "invalid name", slowedMs: 0 };
    const known = knownDevice === undefined ? undefined : await this.store.getOperator(name);
    let slowedMs = 0;
    if (known === undefined || !sameProof(knownDeviceProof(known), knownDevice ?? "")) {
      // Unknown names are slowed as known ones are, so the wait does not tell them apart.
      const verdict = this.slowdown.attempt(name);
      if ("refusedForMs" in verdict) return { ok: false, reason: "account-busy", retryAfterMs: verdict.refusedForMs };
      slowedMs = verdict.waitMs;
      if (slowedMs > 0) await sleep(slowedMs);
    }
    const operator = known ?? (await this.store.getOperator(name));
    if (operator === undefined) {
      // As slow as a wrong password, so names cannot be told apart by timing.
      this.dummyHash ??= hashSecret(randomBytes(16).toString("base64url"));
      await verifySecret(password, await this.dummyHash);
      return { ok: false, reason: "unknown operator", slowedMs };
    }
    if (!(await verifySecret(password, operator.passwordHash))) return { ok: false, reason: "wrong password", slowedMs };
    this.limiter.forgive(address);
    this.slowdown.succeeded(name);
    return { ok: true, via: "password", operator, slowedMs };
  }

  /**
   * The MQTT WebSocket: a live session's MQTT token only (from POST /api/login). A 256-bit token
   * cannot be guessed and checking it costs nothing, so a refusal counts against no limit: a
   * logged-in page reconnects even while someone else at its address is being refused.
   */
  verifyMqtt(name: string, token: string, clientId: string): AuthResult {
    return this.sessions.mqttTokenValid(name, token, clientId) ? { ok: true, via: "session" } : { ok: false, reason: "not a session token for this client id" };
  }
}

/**
 * Checks operator credentials for the HTTP login and the MQTT WebSocket: the operator's password
 * (scrypt), or on MQTT a live session's token. Failures count against the address (limiter.ts).
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../../shared/clock.js";
import { hashSecret, verifySecret } from "../registry/credentials.js";
import type { GatewayStore, OperatorRecord } from "../store/store.js";
import { FailedLoginLimiter } from "./limiter.js";
import { operatorNameSchema } from "./names.js";
import type { SessionStore } from "./sessions.js";

type Refusal =
  | { readonly ok: false; readonly reason: "rate-limited"; readonly retryAfterMs: number }
  | { readonly ok: false; readonly reason: "unknown operator" | "wrong password" | "invalid name" };

/** A password check: on success, the operator record the password was checked against (its role, its stamp). */
export type PasswordResult = { readonly ok: true; readonly via: "password"; readonly operator: OperatorRecord } | Refusal;

export type AuthResult = PasswordResult | { readonly ok: true; readonly via: "session" };

export class OperatorAuth {
  readonly limiter: FailedLoginLimiter;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: GatewayStore,
    readonly sessions: SessionStore,
    options: { maxFailedPerMinute: number },
    clock: Clock,
  ) {
    this.limiter = new FailedLoginLimiter(options.maxFailedPerMinute, 60_000, clock);
  }

  /** The HTTP login: the operator's own password only. */
  async verifyPassword(name: string, password: string, address: string): Promise<PasswordResult> {
    const retryAfterMs = this.limiter.retryAfterMs(address);
    if (retryAfterMs > 0) return { ok: false, reason: "rate-limited", retryAfterMs };
    this.limiter.fail(address);
    if (!operatorNameSchema.safeParse(name).success) return { ok: false, reason: "invalid name" };
    const operator = await this.store.getOperator(name);
    if (operator === undefined) {
      // As slow as a wrong password, so names cannot be told apart by timing.
      this.dummyHash ??= hashSecret(randomBytes(16).toString("base64url"));
      await verifySecret(password, await this.dummyHash);
      return { ok: false, reason: "unknown operator" };
    }
    if (!(await verifySecret(password, operator.passwordHash))) return { ok: false, reason: "wrong password" };
    this.limiter.forgive(address);
    return { ok: true, via: "password", operator };
  }

  /** The MQTT WebSocket: a session's MQTT token, or the operator's password. */
  async verifyMqtt(name: string, password: string, address: string): Promise<AuthResult> {
    // A 256-bit session token cannot be guessed, and checking it costs nothing: not rate-limited,
    // so a logged-in page reconnects even while someone else at its address is being refused.
    if (this.sessions.mqttTokenValid(name, password)) return { ok: true, via: "session" };
    return this.verifyPassword(name, password, address);
  }
}

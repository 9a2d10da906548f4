/**
 * Operator login: POST /api/login, POST /api/logout, GET /api/session, GET /api/config (ICE
 * servers), GET /api/alarms (open alarms, for a page that was not connected when they came in).
 * The session is an HttpOnly, SameSite=Strict cookie; the reply carries the MQTT credentials the
 * page uses on /mqtt (a per-session token, not the password).
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import type { OperatorAlarm } from "../../shared/call.js";
import { knownDeviceProof, type OperatorAuth } from "../operators/auth.js";
import { buildOperatorAlarm } from "../operators/alarms.js";
import { operatorNameSchema, operatorUsername } from "../operators/names.js";
import { operatorStamp, type Session, type SessionStore } from "../operators/sessions.js";
import type { GatewayStore } from "../store/store.js";
import type { Authorize } from "./alarm-routes.js";
import { HttpError, readCookie, readJson, type RequestContext, type RouteGroup, requireMethod, sendError, sendOk } from "./respond.js";

export const SESSION_COOKIE = "sos_session";
export const MQTT_WS_PATH = "/mqtt";

const loginSchema = z.object({ name: z.string().min(1).max(200), password: z.string().min(1).max(1_000) });

export interface OperatorRoutesDeps {
  readonly auth: OperatorAuth;
  readonly store: GatewayStore;
  readonly iceServers: readonly unknown[];
  /** Adds `Secure` to the cookie (the gateway is reached over HTTPS). */
  readonly secureCookie: boolean;
  readonly log: Logger;
}

/** The live session of a request, or undefined. */
export function sessionOf(ctx: RequestContext, sessions: SessionStore): Session | undefined {
  const id = readCookie(ctx.req, SESSION_COOKIE);
  return id === undefined || id === "" ? undefined : sessions.get(id);
}

export function requireSession(ctx: RequestContext, sessions: SessionStore): Session {
  const session = sessionOf(ctx, sessions);
  if (session === undefined) throw new HttpError(401, "NOT_LOGGED_IN", "log in first (POST /api/login)");
  return session;
}

/**
 * Who may do what on the console's alarm and fleet API (alarm-routes.ts). Today: every logged-in
 * operator may do everything; a role check (operator/admin) goes here, in this one place.
 */
export function consoleAuthorizer(sessions: SessionStore): Authorize {
  return (ctx, _action) => requireSession(ctx, sessions);
}

/** The known-device cookie of one operator (names are cookie-safe: operatorNameSchema). */
const knownDeviceCookie = (name: string): string => `sos_known_${name}`;
const KNOWN_DEVICE_MAX_AGE_S = 180 * 86_400;

export function operatorRoutes(deps: OperatorRoutesDeps): RouteGroup {
  const { auth, log } = deps;
  const sessions = auth.sessions;
  const cookie = (value: string, maxAgeS: number): string =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${deps.secureCookie ? "; Secure" : ""}`;
  const sessionData = (session: Session): unknown => ({
    operator: session.operator,
    role: session.role,
    expiresAt: new Date(session.expiresAt).toISOString(),
    mqtt: { path: MQTT_WS_PATH, username: operatorUsername(session.operator), password: session.mqttToken, clientId: session.clientId },
    iceServers: deps.iceServers,
  });

  const login = async (ctx: RequestContext): Promise<void> => {
    const retryAfterMs = auth.limiter.retryAfterMs(ctx.address);
    if (retryAfterMs > 0) {
      log.warn({ address: ctx.address, reason: "rate-limited" }, "login refused");
      return sendError(ctx.res, 429, "TOO_MANY_ATTEMPTS", "too many failed logins from this address: wait a minute", { "retry-after": String(Math.ceil(retryAfterMs / 1_000)) });
    }
    const parsed = loginSchema.safeParse(await readJson(ctx.req, 4_096));
    if (!parsed.success) throw new HttpError(400, "BODY_INVALID", "send {\"name\": \"...\", \"password\": \"...\"}");
    const { name, password } = parsed.data;
    const knownCookie = operatorNameSchema.safeParse(name).success ? readCookie(ctx.req, knownDeviceCookie(name)) : undefined;
    const result = await auth.verifyPassword(name, password, ctx.address, knownCookie);
    if (!result.ok) {
      // A name that is not one (often a password typed into the wrong field) is not logged.
      const logged = operatorNameSchema.safeParse(name).success ? name : null;
      log.warn({ operator: logged, address: ctx.address, reason: result.reason, ...("slowedMs" in result && result.slowedMs > 0 ? { slowedMs: result.slowedMs } : {}) }, "login refused");
      if (result.reason === "rate-limited") {
        return sendError(ctx.res, 429, "TOO_MANY_ATTEMPTS", "too many failed logins from this address: wait a minute", { "retry-after": String(Math.ceil(result.retryAfterMs / 1_000)) });
      }
      if (result.reason === "account-busy") {
        const s = Math.ceil(result.retryAfterMs / 1_000);
        return sendError(ctx.res, 429, "TOO_MANY_ATTEMPTS", `too many failed logins on this name just now: try again in ${s} s`, { "retry-after": String(s) });
      }
      return sendError(ctx.res, 401, "LOGIN_FAILED", "wrong name or password");
    }
    // The record the password was checked against: its role, and its stamp (a later change ends the session).
    const { role } = result.operator;
    const { id, session } = sessions.create(name, `${operatorUsername(name)}:${randomBytes(6).toString("hex")}`, role, operatorStamp(result.operator));
    log.info({ operator: name, role, address: ctx.address, ...(result.slowedMs > 0 ? { slowedMs: result.slowedMs } : {}) }, "operator logged in");
    // The known-device cookie: this browser's later logins as this operator are not slowed by a guesser's failures.
    const known = `${knownDeviceCookie(name)}=${knownDeviceProof(result.operator)}; Path=/api/login; HttpOnly; SameSite=Strict; Max-Age=${KNOWN_DEVICE_MAX_AGE_S}${deps.secureCookie ? "; Secure" : ""}`;
    sendOk(ctx.res, sessionData(session), { "set-cookie": [cookie(id, Math.floor((session.expiresAt - Date.now()) / 1_000)), known] });
  };

  const logout = (ctx: RequestContext): void => {
    const id = readCookie(ctx.req, SESSION_COOKIE);
    const session = id === undefined ? undefined : sessions.get(id);
    if (id !== undefined) sessions.delete(id);
    if (session !== undefined) log.info({ operator: session.operator, address: ctx.address }, "operator logged out");
    sendOk(ctx.res, { loggedOut: session !== undefined }, { "set-cookie": cookie("", 0) });
  };

  const alarms = async (ctx: RequestContext): Promise<void> => {
    requireSession(ctx, sessions);
    const open = await deps.store.listAlerts({ open: true, limit: 50 });
    const list: OperatorAlarm[] = [];
    for (const alert of open) list.push(await buildOperatorAlarm(deps.store, alert));
    sendOk(ctx.res, { alarms: list });
  };

  return async (ctx) => {
    switch (ctx.path) {
      case "/api/login":
        requireMethod(ctx, "POST");
        await login(ctx);
        return true;
      case "/api/logout":
        requireMethod(ctx, "POST");
        logout(ctx);
        return true;
      case "/api/session":
        requireMethod(ctx, "GET");
        sendOk(ctx.res, sessionData(requireSession(ctx, sessions)));
        return true;
      case "/api/config":
        requireMethod(ctx, "GET");
        requireSession(ctx, sessions);
        sendOk(ctx.res, { iceServers: deps.iceServers });
        return true;
      case "/api/alarms":
        requireMethod(ctx, "GET");
        await alarms(ctx);
        return true;
      default:
        return false;
    }
  };
}

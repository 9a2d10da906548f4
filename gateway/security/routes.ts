/**
 * Enrolment and the admin API on the gateway's HTTP(S) port.
 *
 *   POST /api/enroll                       a one-time token + kiosk id + location + CSR → certificate and CA
 *   GET  /api/enroll/ca                    the CA certificate (public; `sos enroll --ca-fingerprint` pins it)
 *   GET  /api/admin/kiosks                 admin: kiosks with their certificates
 *   POST /api/admin/tokens                 admin: { count?, expires?: "7d", site? } → one-time tokens
 *   POST /api/admin/kiosks/<id>/revoke     admin: revoke a kiosk (its live session is cut at once)
 *   GET  /api/admin/operators              admin: operators and their roles
 *
 * Admin endpoints answer 401 without a session and 403 for an operator who is not an admin.
 */
import { randomBytes } from "node:crypto";
import { SMS_KEY_BYTES } from "../../shared/sms-alert.js";
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { z } from "zod";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { kioskIdSchema, locationSchema } from "../../shared/contract.js";
import { errorMessage } from "../../shared/errors.js";
import { importKeyPair, issueCertificate, parseCsr } from "../../shared/pki/x509.js";
import { requireSession } from "../http/operator-routes.js";
import { HttpError, readJson, type RequestContext, type RouteGroup, requireMethod, sendError, sendOk } from "../http/respond.js";
import { FailedLoginLimiter } from "../operators/limiter.js";
import type { Session, SessionStore } from "../operators/sessions.js";
import { loadCa, pkiExists, pkiPaths } from "../pki/ca.js";
import type { GatewayStore } from "../store/store.js";
import type { RevocationWatcher } from "./revocation.js";
import { createTokens, hashToken, parseDuration } from "./tokens.js";

export interface SecurityRoutesDeps {
  readonly config: GatewayConfig;
  readonly store: GatewayStore;
  readonly sessions: SessionStore;
  readonly revocations: RevocationWatcher;
  readonly mqttsPort: number | null;
  readonly clock: Clock;
  readonly log: Logger;
}

const enrolSchema = z.object({
  token: z.string().min(1).max(200),
  kioskId: kioskIdSchema,
  name: z.string().max(200).optional(),
  location: locationSchema,
  csr: z.string().min(1).max(8_192),
});

const tokensSchema = z.object({ count: z.number().int().min(1).max(1_000).default(1), expires: z.string().default("7d"), site: z.string().max(200).optional() });

const REVOKE_PATH = /^\/api\/admin\/kiosks\/([^/]+)\/revoke$/;

const REFUSALS = {
  "token-unknown": [401, "TOKEN_INVALID", "this enrolment token is not known: check it, or ask the gateway's admin for a new one ('sos token create')"],
  "token-used": [409, "TOKEN_USED", "this enrolment token has already been used: ask the gateway's admin for a new one ('sos token create')"],
  "token-expired": [410, "TOKEN_EXPIRED", "this enrolment token has expired: ask the gateway's admin for a new one ('sos token create')"],
  "kiosk-has-certificate": [409, "KIOSK_ENROLLED", "this kiosk id already has a valid certificate: revoke it first ('sos revoke KIOSK_ID') or choose another id"],
  "kiosk-registered": [409, "KIOSK_REGISTERED", "this kiosk id is registered already: revoke it first ('sos revoke KIOSK_ID') to enrol it again, or choose another id"],
} as const;

/** A live session of an operator who is an admin now (the store is asked again: a removed or demoted admin loses it at once). */
async function requireAdmin(ctx: RequestContext, sessions: SessionStore, store: GatewayStore): Promise<Session> {
  const session = requireSession(ctx, sessions);
  const role = session.role === "admin" ? (await store.getOperator(session.operator))?.role : session.role;
  if (role !== "admin") throw new HttpError(403, "FORBIDDEN", `this needs an admin; your role is ${role ?? "gone"}`);
  return session;
}

export function securityRoutes(deps: SecurityRoutesDeps): RouteGroup {
  const { store, log, clock, config } = deps;
  const failures = new FailedLoginLimiter(config.security.maxFailedEnrolmentsPerMinute, 60_000, clock);

  const enrol = async (ctx: RequestContext): Promise<void> => {
    const retryAfterMs = failures.retryAfterMs(ctx.address);
    if (retryAfterMs > 0) {
      log.warn({ address: ctx.address, reason: "rate-limited" }, "enrolment refused");
      return sendError(ctx.res, 429, "TOO_MANY_ATTEMPTS", "too many failed enrolments from this address: wait a minute", { "retry-after": String(Math.ceil(retryAfterMs / 1_000)) });
    }
    if (!pkiExists(config.dataDir) || deps.mqttsPort === null) throw new HttpError(503, "NO_CA", "this gateway has no CA yet: run 'sos ca init' on it");
    const parsed = enrolSchema.safeParse(await readJson(ctx.req, 16_384));
    if (!parsed.success) throw new HttpError(400, "BODY_INVALID", "send {token, kioskId, location: {lat, lon, address}, csr}");
    const body = parsed.data;
    let csr: Awaited<ReturnType<typeof parseCsr>>;
    try {
      csr = await parseCsr(body.csr);
    } catch (err) {
      throw new HttpError(400, "CSR_INVALID", errorMessage(err));
    }
    if (csr.commonName !== body.kioskId) throw new HttpError(400, "CSR_INVALID", `the CSR's CN (${csr.commonName ?? "none"}) must be the kiosk id ${body.kioskId}`);
    failures.fail(ctx.address);
    const now = clock.now();
    const ca = loadCa(config.dataDir);
    const result = await store.security.enrol({
      tokenHash: hashToken(body.token),
      kioskId: body.kioskId,
      name: body.name ?? null,
      location: body.location,
      now,
      issue: async () =>
        issueCertificate({
          caCertPem: ca.certPem,
          caKeys: await importKeyPair(ca.keyPem, ca.certPem),
          subjectPublicKey: csr.publicKey,
          commonName: body.kioskId,
          usage: "client",
          notAfter: new Date(now.getTime() + config.security.kioskCertDays * 86_400_000),
        }),
    });
    if (result.outcome !== "enrolled") {
      const [status, code, message] = REFUSALS[result.outcome];
      log.warn({ kioskId: body.kioskId, address: ctx.address, reason: result.outcome }, "enrolment refused");
      return sendError(ctx.res, status, code, message);
    }
    failures.forgive(ctx.address);
    log.info({ kioskId: body.kioskId, serial: result.serial, address: ctx.address }, "kiosk enrolled");
    // The kiosk's SMS key for its second path (docs/fallback.md), issued with its certificate.
    const smsKey = randomBytes(SMS_KEY_BYTES).toString("base64url");
    await store.sms.putKey(body.kioskId, smsKey, now);
    sendOk(ctx.res, { kioskId: body.kioskId, certificate: result.pem, caCertificate: ca.certPem, mqtts: { port: deps.mqttsPort }, smsKey });
  };

  const revoke = async (ctx: RequestContext, encodedId: string): Promise<void> => {
    // Who asks first: nothing in the path is looked at for someone who may not revoke.
    const admin = await requireAdmin(ctx, deps.sessions, store);
    const kioskId = decodePathPart(encodedId);
    const revoked = await store.security.revokeKiosk(kioskId, clock.now());
    if (revoked === null) throw new HttpError(404, "KIOSK_UNKNOWN", `no kiosk ${kioskId}`);
    log.info({ kioskId, certificates: revoked, by: admin.operator }, "kiosk revoked by an admin");
    await deps.revocations.poll();
    sendOk(ctx.res, { kioskId, certificatesRevoked: revoked });
  };

  const tokens = async (ctx: RequestContext): Promise<void> => {
    const admin = await requireAdmin(ctx, deps.sessions, store);
    const parsed = tokensSchema.safeParse(await readJson(ctx.req, 4_096));
    const expiresMs = parsed.success ? parseDuration(parsed.data.expires) : undefined;
    if (!parsed.success || expiresMs === undefined) throw new HttpError(400, "BODY_INVALID", 'send {count: 1-1000, expires: "7d" (m, h or d), site?: "text"}');
    const created = await createTokens(store.security, { count: parsed.data.count, expiresMs, site: parsed.data.site ?? null, now: clock.now() });
    log.info({ count: parsed.data.count, site: parsed.data.site ?? null, by: admin.operator }, "enrolment tokens created");
    sendOk(ctx.res, { tokens: created.tokens, expiresAt: created.expiresAt.toISOString() });
  };

  return async (ctx) => {
    if (ctx.path === "/api/enroll") {
      requireMethod(ctx, "POST");
      await enrol(ctx);
      return true;
    }
    if (ctx.path === "/api/enroll/ca") {
      requireMethod(ctx, "GET");
      if (!pkiExists(config.dataDir)) throw new HttpError(503, "NO_CA", "this gateway has no CA yet: run 'sos ca init' on it");
      ctx.res.writeHead(200, { "content-type": "application/x-pem-file", "cache-control": "no-store" });
      ctx.res.end(readFileSync(pkiPaths(config.dataDir).caCert));
      return true;
    }
    if (!ctx.path.startsWith("/api/admin/")) return false;
    const revokeMatch = REVOKE_PATH.exec(ctx.path);
    if (revokeMatch !== null) {
      requireMethod(ctx, "POST");
      await revoke(ctx, revokeMatch[1] ?? "");
      return true;
    }
    switch (ctx.path) {
      case "/api/admin/kiosks": {
        requireMethod(ctx, "GET");
        await requireAdmin(ctx, deps.sessions, store);
        const kiosks = await store.listKiosks();
        const list = [];
        for (const k of kiosks) {
          const certs = await store.security.certificatesOf(k.kioskId);
          list.push({ kioskId: k.kioskId, name: k.name, location: k.location, certificates: certs.map((c) => ({ serial: c.serial, notAfter: c.notAfter, revokedAt: c.revokedAt })) });
        }
        sendOk(ctx.res, { kiosks: list });
        return true;
      }
      case "/api/admin/tokens":
        requireMethod(ctx, "POST");
        await tokens(ctx);
        return true;
      case "/api/admin/operators": {
        requireMethod(ctx, "GET");
        await requireAdmin(ctx, deps.sessions, store);
        sendOk(ctx.res, { operators: (await store.listOperators()).map((o) => ({ name: o.name, role: o.role, createdAt: o.createdAt })) });
        return true;
      }
      default:
        return false;
    }
  };
}

/** A %-encoded path segment, or 400 for a malformed escape (`%zz`). */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, "BAD_PATH", "the kiosk id in the path is not valid (a malformed %-escape)");
  }
}

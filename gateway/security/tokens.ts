/**
 * One-time enrolment tokens: 256 random bits shown once, stored as their SHA-256 (a token is random
 * and long, so a fast hash is enough: there is nothing to brute-force), single-use and expiring.
 */
import { createHash, randomBytes } from "node:crypto";
import type { SecurityStore } from "../store/security-store.js";

/** Tokens carry a prefix so one pasted into the wrong field (or found in a log) is recognisable. */
export const TOKEN_PREFIX = "sosenr_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token.trim()).digest("base64url");
}

export async function createTokens(store: SecurityStore, options: { count: number; expiresMs: number; site: string | null; now: Date }): Promise<{ tokens: string[]; expiresAt: Date }> {
  const tokens = Array.from({ length: options.count }, () => `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`);
  const expiresAt = new Date(options.now.getTime() + options.expiresMs);
  await store.createTokens(tokens.map(hashToken), { site: options.site, expiresAt, now: options.now });
  return { tokens, expiresAt };
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30m", "12h", "7d" → milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,5})([mhd])$/.exec(text.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * (UNITS[match[2] ?? ""] ?? 0);
  return ms > 0 ? ms : undefined;
}

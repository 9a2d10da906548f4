/**
 * Kiosk secrets: 256 random bits, shown once at provisioning; the gateway stores only a scrypt hash
 * (`scrypt$N$r$p$salt$hash`, base64url). Verification is constant-time.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const N = 16_384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scryptAsync(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LEN, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, N, R, P);
  return ["scrypt", N, R, P, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, "base64url");
  const key = await scryptAsync(secret, Buffer.from(salt, "base64url"), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

function digestOf(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/**
 * Remembers secrets already verified against a given stored hash, so a fleet reconnecting after a
 * gateway restart costs one scrypt per kiosk, not one per connection. Keyed by the stored hash, so
 * a re-provisioned kiosk (new hash) is verified afresh.
 */
export class VerifiedSecretCache {
  private readonly verified = new Map<string, string>();

  constructor(private readonly maxEntries = 100_000) {}

  /** Whether `secret` is the one already verified against `storedHash` (constant-time; no scrypt). */
  knows(secret: string, storedHash: string): boolean {
    const known = this.verified.get(storedHash);
    return known !== undefined && timingSafeEqual(Buffer.from(known), Buffer.from(digestOf(secret)));
  }

  async verify(secret: string, storedHash: string): Promise<boolean> {
    if (this.verified.has(storedHash)) return this.knows(secret, storedHash);
    const ok = await verifySecret(secret, storedHash);
    if (ok) {
      if (this.verified.size >= this.maxEntries) {
        const oldest = this.verified.keys().next().value;
        if (oldest !== undefined) this.verified.delete(oldest);
      }
      this.verified.set(storedHash, digestOf(secret));
    }
    return ok;
  }
}

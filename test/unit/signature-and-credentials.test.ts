import { describe, expect, it } from "vitest";
import { VerifiedSecretCache, generateSecret, hashSecret, verifySecret } from "../../gateway/registry/credentials.js";
import { signBody, verifySignature } from "../../shared/signature.js";

const SECRET = "test-dispatch-secret-0123456789";
const BODY = JSON.stringify({ schema: "sos.dispatch.alert/v1", alertId: "3f0c8a52-9b1e-4c7a-8d2f-5e6a7b8c9d0e" });

describe("signBody / verifySignature", () => {
  it("signs as sha256=<hex HMAC> and verifies its own signature, for strings and buffers alike", () => {
    const header = signBody(BODY, SECRET);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signBody(Buffer.from(BODY), SECRET)).toBe(header);
    expect(verifySignature(BODY, SECRET, header)).toBe(true);
    expect(verifySignature(Buffer.from(BODY), SECRET, header)).toBe(true);
  });

  it("matches a known HMAC-SHA256 vector (RFC 4231 test case 2)", () => {
    expect(signBody("what do ya want for nothing?", "Jefe")).toBe("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("refuses a signature made with another secret", () => {
    expect(verifySignature(BODY, SECRET, signBody(BODY, "another-secret-0123456789"))).toBe(false);
  });

  it("refuses a tampered body", () => {
    const header = signBody(BODY, SECRET);
    expect(verifySignature(BODY.replace("v1", "v2"), SECRET, header)).toBe(false);
    expect(verifySignature(`${BODY} `, SECRET, header)).toBe(false);
  });

  it("refuses a missing, empty, truncated or differently-prefixed header", () => {
    const header = signBody(BODY, SECRET);
    expect(verifySignature(BODY, SECRET, undefined)).toBe(false);
    expect(verifySignature(BODY, SECRET, "")).toBe(false);
    expect(verifySignature(BODY, SECRET, header.slice(0, -1))).toBe(false);
    expect(verifySignature(BODY, SECRET, header.replace("sha256=", "sha1="))).toBe(false);
    expect(verifySignature(BODY, SECRET, header.toUpperCase())).toBe(false);
  });
});

describe("hashSecret / verifySecret", () => {
  it("hashes as scrypt$N$r$p$salt$hash with a fresh salt each time, never containing the secret", async () => {
    const secret = generateSecret();
    const [a, b] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
  });

  it("verifies the right secret and refuses a wrong one", async () => {
    const secret = generateSecret();
    const stored = await hashSecret(secret);
    expect(await verifySecret(secret, stored)).toBe(true);
    expect(await verifySecret(`${secret}x`, stored)).toBe(false);
    expect(await verifySecret(generateSecret(), stored)).toBe(false);
    expect(await verifySecret("", stored)).toBe(false);
  });

  it("refuses anything that is not a stored scrypt hash", async () => {
    const secret = generateSecret();
    expect(await verifySecret(secret, secret)).toBe(false);
    expect(await verifySecret(secret, "")).toBe(false);
    expect(await verifySecret(secret, "bcrypt$1$2$3$4$5")).toBe(false);
  });

  it("generates distinct 256-bit secrets", () => {
    const a = generateSecret();
    expect(Buffer.from(a, "base64url")).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });
});

describe("VerifiedSecretCache", () => {
  it("accepts the right secret twice", async () => {
    const secret = generateSecret();
    const cache = new VerifiedSecretCache();
    const stored = await hashSecret(secret);
    expect(await cache.verify(secret, stored)).toBe(true);
    expect(await cache.verify(secret, stored)).toBe(true);
  });

  it("refuses a wrong secret after the right one was accepted", async () => {
    const secret = generateSecret();
    const cache = new VerifiedSecretCache();
    const stored = await hashSecret(secret);
    expect(await cache.verify(secret, stored)).toBe(true);
    expect(await cache.verify("wrong-secret", stored)).toBe(false);
    expect(await cache.verify(`${secret}x`, stored)).toBe(false);
    expect(await cache.verify(secret, stored)).toBe(true);
  });

  it("refuses a wrong secret before any right one, and does not remember it", async () => {
    const secret = generateSecret();
    const cache = new VerifiedSecretCache();
    const stored = await hashSecret(secret);
    expect(await cache.verify("wrong-secret", stored)).toBe(false);
    expect(await cache.verify("wrong-secret", stored)).toBe(false);
    expect(await cache.verify(secret, stored)).toBe(true);
  });

  it("verifies afresh against a new hash (a re-provisioned kiosk): the old secret no longer works", async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const cache = new VerifiedSecretCache();
    const oldHash = await hashSecret(oldSecret);
    const newHash = await hashSecret(newSecret);
    expect(await cache.verify(oldSecret, oldHash)).toBe(true);
    expect(await cache.verify(oldSecret, newHash)).toBe(false);
    expect(await cache.verify(newSecret, newHash)).toBe(true);
  });

  it("still verifies correctly once older entries are evicted", async () => {
    const cache = new VerifiedSecretCache(1);
    const s1 = generateSecret();
    const s2 = generateSecret();
    const [h1, h2] = await Promise.all([hashSecret(s1), hashSecret(s2)]);
    expect(await cache.verify(s1, h1)).toBe(true);
    expect(await cache.verify(s2, h2)).toBe(true);
    expect(await cache.verify(s1, h1)).toBe(true);
    expect(await cache.verify(s2, h1)).toBe(false);
  });
});

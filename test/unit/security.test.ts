import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConnectionRateLimiter, PacketSizeWatcher } from "../../gateway/broker/guard.js";
import { addressKey } from "../../gateway/operators/limiter.js";
import { createTokens, hashToken, parseDuration } from "../../gateway/security/tokens.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { createCaCertificate, createCsr, fingerprintOf, generateKeyPair, issueCertificate, normaliseFingerprint, parseCsr } from "../../shared/pki/x509.js";
import { FakeClock } from "../fixtures/fake-clock.js";
import { mqttHeader } from "../fixtures/mqtt-header.js";

const header = mqttHeader;

describe("PacketSizeWatcher follows MQTT framing and trips on an announced size over the limit", () => {
  it("lets packets at the limit through, split across chunks anywhere, and trips on the first one over it", () => {
    const announced: number[] = [];
    const watcher = new PacketSizeWatcher(1_000, (n) => announced.push(n));
    const stream = Buffer.concat([header(0x10, 1_000), Buffer.alloc(1_000), header(0x30, 0), header(0x30, 200), Buffer.alloc(200), header(0x30, 1_001)]);
    for (let i = 0; i < stream.length; i += 7) watcher.feed(stream.subarray(i, i + 7));
    expect(announced).toEqual([1_001]);
  });

  it("trips from the header alone: nothing of the body is needed", () => {
    const announced: number[] = [];
    new PacketSizeWatcher(64 * 1024, (n) => announced.push(n)).feed(header(0x10, 200 * 1024 * 1024));
    expect(announced).toEqual([200 * 1024 * 1024]);
  });

  it("holds the first packet, the CONNECT, to its own smaller limit, and every later packet to the packet limit", () => {
    const tripped: [number, number][] = [];
    const over = new PacketSizeWatcher(100_000, (n, limit) => tripped.push([n, limit]), 8_192);
    over.feed(header(0x10, 8_193));
    const within = new PacketSizeWatcher(100_000, (n, limit) => tripped.push([n, limit]), 8_192);
    within.feed(Buffer.concat([header(0x10, 8_192), Buffer.alloc(8_192), header(0x30, 50_000), Buffer.alloc(50_000), header(0x30, 100_001)]));
    expect(tripped).toEqual([[8_193, 8_192], [100_001, 100_000]]);
  });
});

describe("ConnectionRateLimiter", () => {
  it("allows a burst per address, then refills at the given rate; other addresses are unaffected; 0 turns it off", () => {
    const clock = new FakeClock(Date.parse("2026-01-02T03:00:00.000Z"));
    const limiter = new ConnectionRateLimiter(3, 2, clock);
    expect([1, 2, 3, 4].map(() => limiter.take("10.0.0.1"))).toEqual([true, true, true, false]);
    expect(limiter.take("10.0.0.2")).toBe(true);
    clock.ms += 500;
    expect([limiter.take("10.0.0.1"), limiter.take("10.0.0.1")]).toEqual([true, false]);
    // A connection that authenticated gives its token back: only failures use the budget up.
    const fleet = new ConnectionRateLimiter(3, 0, clock);
    for (let i = 0; i < 1_000; i += 1) {
      expect(fleet.take("10.0.0.9")).toBe(true);
      fleet.refund("10.0.0.9");
    }
    const off = new ConnectionRateLimiter(0, 0, clock);
    expect(Array.from({ length: 1_000 }, () => off.take("10.0.0.1")).every(Boolean)).toBe(true);
  });
});

describe("X.509 helpers", () => {
  it("issue a client certificate from a CSR whose serial and fingerprint match what Node's TLS reports", async () => {
    const ca = await generateKeyPair();
    const caPem = await createCaCertificate(ca.keys, "Test CA", 1);
    const kiosk = await generateKeyPair();
    const csr = await parseCsr(await createCsr(kiosk.keys, "kz-unit-0001"));
    expect(csr.commonName).toBe("kz-unit-0001");
    const issued = await issueCertificate({ caCertPem: caPem, caKeys: ca.keys, subjectPublicKey: csr.publicKey, commonName: "kz-unit-0001", usage: "client", notAfter: new Date(Date.now() + 86_400_000) });
    const node = new X509Certificate(issued.pem);
    expect(node.subject).toBe("CN=kz-unit-0001");
    expect(node.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(node.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(issued.serial).toBe(node.serialNumber.toLowerCase().replace(/^0+/, ""));
    expect(issued.fingerprint).toBe(node.fingerprint256);
    expect(fingerprintOf(caPem)).toBe(new X509Certificate(caPem).fingerprint256);
    expect(normaliseFingerprint(issued.fingerprint.replaceAll(":", "").toLowerCase())).toBe(issued.fingerprint);
  });

  it("refuse a CSR that is not one, or whose signature does not verify", async () => {
    await expect(parseCsr("not a csr")).rejects.toThrow("the CSR is not a PEM PKCS#10 certificate request");
    const a = await generateKeyPair();
    const pem = await createCsr(a.keys, "kz-unit-0002");
    const body = pem.split("\n").filter((l) => !l.startsWith("-----")).join("");
    const der = Buffer.from(body, "base64");
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----`;
    await expect(parseCsr(tampered)).rejects.toThrow();
  });
});

describe("enrolment tokens", () => {
  it("parse durations in minutes, hours and days, and nothing else", () => {
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("12h")).toBe(43_200_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    for (const bad of ["7", "0d", "1w", "-1d", "d", ""]) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it("are stored as hashes only, and are valid, then expired, by the clock", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sos-unit-tokens-"));
    const store = SqliteStore.open(dir);
    try {
      const now = new Date("2026-01-01T00:00:00Z");
      const { tokens } = await createTokens(store.security, { count: 2, expiresMs: 60_000, site: "depot", now });
      const token = tokens[0] ?? "";
      expect(await store.security.tokenState(hashToken(token), now)).toBe("valid");
      expect(await store.security.tokenState(hashToken(token), new Date(now.getTime() + 60_000))).toBe("expired");
      expect(await store.security.tokenState(hashToken("sosenr_other"), now)).toBe("unknown");
      expect(JSON.stringify(await store.security.listTokens())).not.toContain(token);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("kiosk.json mqtt credentials", () => {
  const base = { version: 1, kioskId: "kz-unit-0003", location: { lat: 1, lon: 2, address: "x" } };
  it("takes a password or TLS files, and TLS only with an mqtts URL", () => {
    expect(() => parseKioskConfig({ ...base, mqtt: { url: "mqtt://gw:1883" } })).toThrow(/needs username and password, or tls/);
    expect(() => parseKioskConfig({ ...base, mqtt: { url: "mqtt://gw:1883", tls: { ca: "a", cert: "b", key: "c" } } })).toThrow(/must be mqtts:\/\/HOST:PORT with tls/);
    expect(parseKioskConfig({ ...base, mqtt: { url: "mqtts://gw:8883", tls: { ca: "a", cert: "b", key: "c" } } }).mqtt.password).toBeUndefined();
  });
});

describe("addressKey", () => {
  it("limits IPv4 by address and IPv6 by its /64 (an attacker picks any address inside a prefix)", () => {
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64");
    expect(addressKey("2001:0db8:0000:0001:abcd:ef01:2345:6789")).toBe("2001:db8:0:1::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    const clock = new FakeClock(Date.parse("2026-01-02T03:00:00.000Z"));
    const limiter = new ConnectionRateLimiter(2, 0, clock);
    expect(["2001:db8:0:1::a", "2001:db8:0:1::b", "2001:db8:0:1::c"].map((a) => limiter.take(a))).toEqual([true, true, false]);
    expect(limiter.take("2001:db8:0:2::a")).toBe(true);
  });
});


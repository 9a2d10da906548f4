/**
 * Automatic renewal (gateway/security/renewal.ts) against a real SQLite store and a fake clock: a
 * certificate that expires within `renewBeforeDays` gets exactly one renewal queued until that one is
 * finished; other kiosks get none.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GatewayEvents } from "../../gateway/events.js";
import { CertificateRenewal } from "../../gateway/security/renewal.js";
import { CertificateRotation } from "../../gateway/security/rotation.js";
import { NO_PASSWORD } from "../../gateway/store/security-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { EventBus } from "../../shared/events.js";
import { createCaCertificate, generateKeyPair, issueCertificate } from "../../shared/pki/x509.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { FakeClock } from "../fixtures/fake-clock.js";

const DAY = 86_400_000;

describe("certificates that expire soon are renewed automatically, once", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: FakeClock;
  let logs: LogCapture;
  let woken: string[];
  let renewal: CertificateRenewal;

  const kiosk = async (kioskId: string, secretHash = NO_PASSWORD): Promise<void> => {
    await store.putKiosk({ kioskId, secretHash, name: null, location: { lat: 43.2, lon: 76.9, address: "Test road" } }, { replace: false, now: clock.now() });
  };
  let serials = 0;
  const certificate = async (kioskId: string, expiresInDays: number, issuedDaysAgo = 700): Promise<string> => {
    serials += 1;
    const serial = `a${serials.toString(16)}`;
    const now = clock.ms;
    await store.security.recordCertificate(
      { serial, kioskId, fingerprint: `FP:${serial}`, notBefore: new Date(now - issuedDaysAgo * DAY).toISOString(), notAfter: new Date(now + expiresInDays * DAY).toISOString() },
      new Date(now - issuedDaysAgo * DAY),
    );
    return serial;
  };
  const renewals = async (kioskId?: string): Promise<string[]> =>
    (await store.pendingCommands(kioskId)).filter((c) => c.payload.includes('"renew-certificate"')).map((c) => c.kioskId);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-renew-"));
    store = SqliteStore.open(dir);
    clock = new FakeClock(Date.parse("2027-03-01T08:00:00.000Z"));
    logs = new LogCapture();
    woken = [];
    const config = parseGatewayConfig({ dataDir: dir, security: { renewBeforeDays: 90, renewCheckMs: 3_600_000 } });
    renewal = new CertificateRenewal(config, { store: store.security, clock, log: logs.logger("gateway"), wake: (id) => woken.push(id) });
  });
  afterEach(async () => {
    renewal.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a renewed certificate and the command that installs it are stored together or not at all", async () => {
    await kiosk("kz-ren-0010");
    await store.security.queueCommand("kz-ren-0010", "install-0001", "{}", clock.now());
    const cert = { serial: "b1", kioskId: "kz-ren-0010", fingerprint: "FP:b1", notBefore: clock.now().toISOString(), notAfter: new Date(clock.ms + 825 * DAY).toISOString() };
    // The command cannot be queued (its id is taken): the certificate is not recorded either.
    await expect(store.security.recordCertificate(cert, clock.now(), { commandId: "install-0001", payload: "{}" })).rejects.toThrow(/UNIQUE/);
    expect(await store.security.certificatesOf("kz-ren-0010")).toEqual([]);
    await store.security.recordCertificate(cert, clock.now(), { commandId: "install-0002", payload: '{"type":"install-certificate"}' });
    expect((await store.security.certificatesOf("kz-ren-0010")).map((c) => c.serial)).toEqual(["b1"]);
    expect((await store.pendingCommands("kz-ren-0010")).map((c) => c.commandId)).toEqual(["install-0001", "install-0002"]);
  });

  it("a certificate within the window gets exactly one renewal, and no second one while the first is pending", async () => {
    await kiosk("kz-ren-0001");
    const serial = await certificate("kz-ren-0001", 30);
    expect(await renewal.check()).toBe(1);
    expect(await renewals()).toEqual(["kz-ren-0001"]);
    expect(woken).toEqual(["kz-ren-0001"]);
    expect(logs.find("certificate expires soon: renewal queued")).toEqual([
      expect.objectContaining({ kioskId: "kz-ren-0001", serial, notAfter: new Date(clock.ms + 30 * DAY).toISOString() }),
    ]);
    // The command is the one `sos rotate` queues.
    const [command] = await store.pendingCommands("kz-ren-0001");
    expect(JSON.parse(command?.payload ?? "{}")).toEqual({ v: 1, commandId: command?.commandId, type: "renew-certificate" });

    clock.ms += 6 * 3_600_000;
    expect(await renewal.check()).toBe(0);
    clock.ms += 20 * DAY;
    expect(await renewal.check()).toBe(0);
    expect(await renewals()).toEqual(["kz-ren-0001"]);
  });

  it("a fleet due at once gets at most renewMaxPerCheck (50) renewals per check, the nearest expiries first, none twice; an expired one takes no slot", async () => {
    const expiries = new Map<string, number>();
    for (let i = 0; i < 120; i += 1) {
      const kioskId = `kz-fleet-${String(i).padStart(4, "0")}`;
      // Distinct expiries between 1 and 60.5 days, not in the order the kiosks were enrolled.
      const days = 1 + ((i * 53) % 120) * 0.5;
      await kiosk(kioskId);
      await certificate(kioskId, days);
      expiries.set(kioskId, days);
    }
    await kiosk("kz-fleet-dead");
    await certificate("kz-fleet-dead", -1);
    const bySoonest = [...expiries].sort((a, b) => a[1] - b[1]).map(([id]) => id);

    expect(await renewal.check()).toBe(50);
    expect((await renewals()).sort()).toEqual(bySoonest.slice(0, 50).sort());
    expect(woken.sort()).toEqual(bySoonest.slice(0, 50).sort());
    expect(logs.find("certificate renewals still due: queued at the next checks")).toEqual([expect.objectContaining({ queued: 50, stillDue: 70, renewMaxPerCheck: 50 })]);
    clock.ms += 3_600_000;
    expect(await renewal.check()).toBe(50);
    expect((await renewals()).sort()).toEqual(bySoonest.slice(0, 100).sort());
    clock.ms += 3_600_000;
    expect(await renewal.check()).toBe(20);
    clock.ms += 3_600_000;
    expect(await renewal.check()).toBe(0);

    const queued = await renewals();
    expect(queued).toHaveLength(120);
    expect(new Set(queued).size).toBe(120);
    expect(queued).not.toContain("kz-fleet-dead");
    expect(logs.find("certificate renewals still due: queued at the next checks").map((l) => l.stillDue)).toEqual([70, 20]);
    expect(logs.find("certificate renewals are behind: some certificates expire before their turn; raise security.renewMaxPerCheck (--renew-max-per-check)")).toEqual([]);
  });

  it("a backlog that cannot be queued before its certificates expire is warned about", async () => {
    const config = parseGatewayConfig({ dataDir: dir, security: { renewBeforeDays: 90, renewCheckMs: DAY, renewMaxPerCheck: 1 } });
    const slow = new CertificateRenewal(config, { store: store.security, clock, log: logs.logger("gateway"), wake: () => undefined });
    for (const id of ["kz-slow-0001", "kz-slow-0002", "kz-slow-0003"]) {
      await kiosk(id);
      await certificate(id, 1.5);
    }
    // One now; the next at +1 day (in time), the last at +2 days (after its expiry).
    expect(await slow.check()).toBe(1);
    expect(logs.find("certificate renewals are behind: some certificates expire before their turn; raise security.renewMaxPerCheck (--renew-max-per-check)")).toEqual([
      expect.objectContaining({ level: "warn", late: 1, stillDue: 2, renewMaxPerCheck: 1 }),
    ]);
  });

  it("a certificate outside the window gets none until it enters it", async () => {
    await kiosk("kz-ren-0002");
    await certificate("kz-ren-0002", 91);
    expect(await renewal.check()).toBe(0);
    clock.ms += 2 * DAY;
    expect(await renewal.check()).toBe(1);
    expect(await renewals()).toEqual(["kz-ren-0002"]);
  });

  it("revoked, decommissioned and password kiosks get none", async () => {
    await kiosk("kz-ren-0003");
    await certificate("kz-ren-0003", 10);
    await store.security.revokeKiosk("kz-ren-0003", clock.now());
    await kiosk("kz-ren-0004");
    await certificate("kz-ren-0004", 10);
    await store.health.setDecommissioned("kz-ren-0004", true, clock.now());
    await kiosk("kz-ren-0005", "scrypt$not-a-certificate-kiosk");
    await certificate("kz-ren-0005", 10);
    expect(await renewal.check()).toBe(0);
    expect(await store.pendingCommands()).toEqual([]);
  });

  it("a renewal in progress holds off another; a failed one is queued again; once the new certificate is issued nothing more is due", async () => {
    await kiosk("kz-ren-0006");
    const old = await certificate("kz-ren-0006", 30);
    await renewal.check();
    const [first] = await store.pendingCommands("kz-ren-0006");
    if (first === undefined) throw new Error("no renewal queued");

    // The kiosk answered with an error: the next check tries again.
    await store.confirmCommand(first.commandId, "kz-ren-0006", JSON.stringify({ v: 1, commandId: first.commandId, status: "error", error: { code: "X", message: "disk full" } }), clock.now());
    clock.ms += 6 * 3_600_000;
    expect(await renewal.check()).toBe(1);
    const [second] = await store.pendingCommands("kz-ren-0006");
    if (second === undefined) throw new Error("no renewal queued");

    // It worked: a certificate is issued (the kiosk's newest) and install-certificate is queued.
    await store.confirmCommand(second.commandId, "kz-ren-0006", JSON.stringify({ v: 1, commandId: second.commandId, status: "ok", data: { csr: "…" } }), clock.now());
    const renewed = await certificate("kz-ren-0006", 825, 0);
    await store.security.queueCommand("kz-ren-0006", "install-1", JSON.stringify({ v: 1, commandId: "install-1", type: "install-certificate", certificate: "…" }), clock.now());
    expect(await renewal.check()).toBe(0);
    await store.confirmCommand("install-1", "kz-ren-0006", JSON.stringify({ v: 1, commandId: "install-1", status: "ok", data: {} }), clock.now());
    expect(await renewal.check()).toBe(0);
    await store.security.revokeOlderCertificates("kz-ren-0006", renewed, clock.now());
    clock.ms += 30 * DAY;
    expect(await renewal.check()).toBe(0);
    expect((await store.security.certificatesOf("kz-ren-0006")).map((c) => [c.serial, c.revokedAt === null])).toEqual([
      [old, false],
      [renewed, true],
    ]);
  });

  it("a renewed certificate the kiosk could not install is revoked, and the one it still has is renewed again", async () => {
    const caKey = await generateKeyPair();
    const caCertPem = await createCaCertificate(caKey.keys, "Test CA", 30);
    const kioskKey = await generateKeyPair();
    await kiosk("kz-ren-0008");
    await certificate("kz-ren-0008", 30);
    const issued = await issueCertificate({ caCertPem, caKeys: caKey.keys, subjectPublicKey: kioskKey.keys.publicKey, commonName: "kz-ren-0008", usage: "client", notAfter: new Date(clock.ms + 825 * DAY) });
    await store.security.recordCertificate({ serial: issued.serial, kioskId: "kz-ren-0008", fingerprint: issued.fingerprint, notBefore: issued.notBefore, notAfter: issued.notAfter }, clock.now());
    const payload = JSON.stringify({ v: 1, commandId: "install-8", type: "install-certificate", certificate: issued.pem });
    await store.security.queueCommand("kz-ren-0008", "install-8", payload, clock.now());
    expect(await renewal.check()).toBe(0);

    const events = new EventBus<GatewayEvents>(logs.logger("gateway"));
    const config = parseGatewayConfig({ dataDir: dir });
    new CertificateRotation(config, { store, events, clock, log: logs.logger("gateway"), sessionSerial: () => undefined, wake: () => undefined }).attach();
    const result = { v: 1, commandId: "install-8", status: "error", error: { code: "CERTIFICATE_ROTATION_FAILED", message: "the certificate matches no key this kiosk made for a renewal" } };
    await store.confirmCommand("install-8", "kz-ren-0008", JSON.stringify(result), clock.now());
    events.emit("command.confirmed", { commandId: "install-8", kioskId: "kz-ren-0008" });
    await vi.waitFor(async () => expect((await store.security.getCertificate(issued.serial))?.revokedAt).not.toBeNull());
    expect(logs.find("the kiosk could not install its renewed certificate: that certificate is revoked; run 'sos rotate' again (one that expires soon is renewed again automatically)")).toHaveLength(1);

    expect(await renewal.check()).toBe(1);
    expect(await renewals("kz-ren-0008")).toEqual(["kz-ren-0008"]);
  });

  it("a renewed certificate is revoked only on an error answer: one whose install answer cannot be read is kept (the kiosk may be using it)", async () => {
    const caKey = await generateKeyPair();
    const caCertPem = await createCaCertificate(caKey.keys, "Test CA", 30);
    const kioskKey = await generateKeyPair();
    await kiosk("kz-ren-0009");
    const issued = await issueCertificate({ caCertPem, caKeys: caKey.keys, subjectPublicKey: kioskKey.keys.publicKey, commonName: "kz-ren-0009", usage: "client", notAfter: new Date(clock.ms + 825 * DAY) });
    await store.security.recordCertificate({ serial: issued.serial, kioskId: "kz-ren-0009", fingerprint: issued.fingerprint, notBefore: issued.notBefore, notAfter: issued.notAfter }, clock.now());
    const payload = JSON.stringify({ v: 1, commandId: "install-9", type: "install-certificate", certificate: issued.pem });
    await store.security.queueCommand("kz-ren-0009", "install-9", payload, clock.now());

    const events = new EventBus<GatewayEvents>(logs.logger("gateway"));
    new CertificateRotation(parseGatewayConfig({ dataDir: dir }), { store, events, clock, log: logs.logger("gateway"), sessionSerial: () => undefined, wake: () => undefined }).attach();
    await store.confirmCommand("install-9", "kz-ren-0009", JSON.stringify({ v: 1, commandId: "install-9", status: "done?" }), clock.now());
    events.emit("command.confirmed", { commandId: "install-9", kioskId: "kz-ren-0009" });
    await vi.waitFor(() => expect(logs.find("the kiosk's answer to install-certificate cannot be read: its renewed certificate is kept (not revoked); check the kiosk's logs")).toHaveLength(1));
    expect((await store.security.getCertificate(issued.serial))?.revokedAt).toBeNull();
  });

  it("an expired certificate is not renewed (the kiosk cannot connect) but logged as an error saying what to do", async () => {
    await kiosk("kz-ren-0007");
    await certificate("kz-ren-0007", -1);
    expect(await renewal.check()).toBe(0);
    expect(await store.pendingCommands()).toEqual([]);
    const [line] = logs.lines.filter((l) => l.level === "error");
    expect(line?.msg).toBe("certificate expired before it was renewed: the kiosk cannot connect; revoke it ('sos revoke kz-ren-0007') and enrol it again on site");
  });

  it("renewBeforeDays must be below kioskCertDays", () => {
    expect(() => parseGatewayConfig({ dataDir: dir, security: { kioskCertDays: 90, renewBeforeDays: 90 } })).toThrow(
      "security.renewBeforeDays: must be below security.kioskCertDays (90): otherwise every renewed certificate is due for renewal at once",
    );
  });
});

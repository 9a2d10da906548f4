/**
 * `sos store copy` moves a SQLite installation to PostgreSQL with nothing lost: a gateway on SQLite
 * with a CA builds up kiosks (a certificate one, a password one), an operator and her session, alerts
 * (one closed at the console, with its steps; one open), and is stopped; the real CLI copies its
 * folder into a fresh database (refusing a second copy into it unless --force); a gateway on
 * PostgreSQL with the same data folder then serves the same operators (the old password logs in, the
 * old session cookie still works), the same kiosks (each connects with its old credentials, and a
 * press reaches dispatch), the same history and published releases (byte for byte), and writes new
 * rows after the copied ones (sequences).
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { addOperator } from "../../scripts/commands/operator.js";
import { parseKioskConfig, type KioskConfig } from "../../shared/config/kiosk.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { deferCleanups } from "../integration/cleanups.js";
import { DISPATCH_SECRET, fastTimings, provisionTestKiosk, spawnSos, startTestKiosk, tempDir, waitFor, type TestKiosk } from "../integration/harness.js";
import { api, enrolTestKiosk, loginHttps, type SecureGateway, startSecureGateway, startSecureGatewayIn } from "../integration/security/rig.js";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

const PASSWORD = "correct horse battery staple";
const CERT_KIOSK = "kz-copy-cert";
const PASSWORD_KIOSK = "kz-copy-pass";

describe("sos store copy moves a SQLite installation to PostgreSQL", () => {
  const defer = deferCleanups();
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("a gateway on the copy serves the same operators, sessions, kiosks and history, and adds rows after the copied ones", async () => {
    const dir = tempDir("sos-pg-copy-");
    defer(() => dir.remove());
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    const options = { dispatch: { url: receiver.url, secret: DISPATCH_SECRET }, commands: { pollMs: 100, resendMs: 1_000 } };

    // The SQLite installation.
    const sqlite: SecureGateway = await startSecureGateway(dir.path, options);
    let sqliteRunning = true;
    defer(() => (sqliteRunning ? sqlite.stop() : undefined));
    const certConfig = await enrolTestKiosk(sqlite, CERT_KIOSK, dir.path);
    const passwordConfig = await provisionTestKiosk(sqlite, PASSWORD_KIOSK, sqlite.mqttUrl, dir.path);
    await addOperator("olga", { dataDir: sqlite.dataDir, passwordStdin: true, role: "admin" }, Readable.from([`${PASSWORD}\n`]));
    const { cookie } = await loginHttps(sqlite, "olga", PASSWORD);
    if (cookie === undefined) throw new Error("no session cookie");
    const running: TestKiosk[] = [];
    defer(async () => {
      await Promise.all(running.map((k) => k.stop()));
    });
    const start = async (config: KioskConfig): Promise<TestKiosk> => {
      const kiosk = await startTestKiosk(config);
      running.push(kiosk);
      await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, `${config.kioskId} connected`);
      return kiosk;
    };
    const cert = await start(certConfig);
    const password = await start(passwordConfig);
    cert.button.press();
    const closedId = await waitFor(() => cert.alarm.openAlarm?.received && cert.alarm.openAlarm.alert.alertId, "certificate kiosk's alarm received");
    expect((await api(sqlite, "POST", `/api/alarms/${closedId}/acknowledge`, { cookie, body: {} })).status).toBe(200);
    expect((await api(sqlite, "POST", `/api/alarms/${closedId}/close`, { cookie, body: { outcome: "help-sent" } })).status).toBe(200);
    await waitFor(() => cert.alarm.openAlarm === null, "the kiosk told of the close");
    password.button.press();
    const openId = await waitFor(() => password.alarm.openAlarm?.received && password.alarm.openAlarm.alert.alertId, "password kiosk's alarm received");
    await waitFor(() => receiver.deliveredIds().has(closedId) && receiver.deliveredIds().has(openId), "both delivered");
    await waitFor(async () => (await sqlite.store.listAlerts()).every((a) => a.delivery === "delivered"), "both recorded as delivered");
    const before = {
      alerts: await sqlite.store.listAlerts(),
      kiosks: await sqlite.store.listKiosks(),
      operators: await sqlite.store.listOperators(),
      certificates: await sqlite.store.security.certificatesOf(CERT_KIOSK),
      closedView: (await api(sqlite, "GET", `/api/alarms/${closedId}`, { cookie })).json.data,
    };
    expect(before.certificates).toHaveLength(1);
    // A published release (three chunks of release_chunks) is copied byte for byte (BLOB to bytea).
    const archive = randomBytes(2 * 1024 * 1024 + 777);
    const release = { version: "1.5.0", file: "sos-kiosk-1.5.0.tar.gz", sha256: createHash("sha256").update(archive).digest("hex"), size: archive.length, manifest: "{}" };
    expect(await sqlite.store.releases.publishRelease(release, archive, new Date())).toBe("published");
    await Promise.all(running.splice(0).map((k) => k.stop()));
    await sqlite.stop();
    sqliteRunning = false;

    // The copy, with the real CLI.
    const db = await createTestDatabase();
    databases.push(db);
    // A node tried on the new database first and stopped cleanly: its stop is no data to refuse over.
    const trial = await PostgresStore.open(db.url);
    await trial.leases.beat({ nodeId: "gw-trial", holder: "gw-trial/1", startedAt: new Date().toISOString(), beatAt: Date.now(), connections: 0, deadAfterMs: 15_000 });
    await trial.leases.leave("gw-trial/1", new Date());
    await trial.close();
    const copy = spawnSos(["store", "copy", "--from", sqlite.dataDir, "--to", db.url]);
    expect(await copy.exited, copy.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    const summary = copy.stdout.join("\n");
    const rows = (table: string): number => Number(new RegExp(`^${table}\\s+(\\d+)\\s*$`, "m").exec(summary)?.[1] ?? "-1");
    expect(rows("kiosks")).toBe(2);
    expect(rows("alerts")).toBe(2);
    expect(rows("operators")).toBe(1);
    expect(rows("operator_sessions")).toBe(1);
    expect(rows("kiosk_certificates")).toBe(1);
    expect(rows("alert_events")).toBeGreaterThanOrEqual(3);
    expect(rows("dispatch_attempts")).toBe(2);
    // What a gateway says of itself (a clean stop) is not copied.
    expect(rows("cluster_stopped")).toBe(-1);
    expect(summary).toMatch(/^copied \d+ rows in \d+ tables from .* in one transaction; \d+ id sequences moved past the copied ids$/m);

    const again = spawnSos(["store", "copy", "--from", sqlite.dataDir, "--to", db.url]);
    expect((await again.exited).code).toBe(1);
    expect(again.stderr).toHaveLength(1);
    expect(again.stderr[0]).toMatch(/^sos: the database postgres:\/\/\S+ already holds gateway data \(.*kiosks 2.*\): copy into an empty database, or pass --force to delete what it holds and copy over it$/);
    const forced = spawnSos(["store", "copy", "--from", sqlite.dataDir, "--to", db.url, "--force"]);
    expect(await forced.exited, forced.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(forced.stdout.join("\n")).toMatch(/\(replacing \d+ rows it held\)/);

    // The gateway on PostgreSQL, same data folder (its CA and server certificate are there).
    const pg = await startSecureGatewayIn(sqlite.dataDir, { ...options, store: { url: db.url } });
    defer(() => pg.stop());
    expect(pg.storeUrl).toBe(db.url);
    // Operators and sessions: the old cookie still works, the old password logs in.
    const session = await api(pg, "GET", "/api/session", { cookie });
    expect(session.status).toBe(200);
    expect(session.json.data).toMatchObject({ operator: "olga", role: "admin" });
    expect((await loginHttps(pg, "olga", PASSWORD)).status).toBe(200);
    expect(await pg.store.listOperators()).toEqual(before.operators);
    // History and kiosks as they were.
    expect(await pg.store.listAlerts()).toEqual(before.alerts);
    expect(await pg.store.listKiosks()).toEqual(before.kiosks);
    expect(await pg.store.security.certificatesOf(CERT_KIOSK)).toEqual(before.certificates);
    expect((await api(pg, "GET", `/api/alarms/${closedId}`, { cookie })).json.data).toEqual(before.closedView);
    expect(await pg.store.releases.getRelease("1.5.0")).toMatchObject(release);
    const copied: Buffer[] = [];
    for await (const chunk of pg.store.releases.readRelease("1.5.0")) copied.push(chunk);
    expect(Buffer.concat(copied).equals(archive)).toBe(true);

    // Each kiosk connects with its old credentials (certificate, password) to the new gateway's ports.
    const moved = (config: KioskConfig, url: string): KioskConfig => fastTimings(parseKioskConfig({ ...config, mqtt: { ...config.mqtt, url } }));
    const cert2 = await start(moved(certConfig, pg.mqttsUrl));
    const password2 = await start(moved(passwordConfig, pg.mqttUrl));
    // New rows go after the copied ones: a new alarm, its steps, an acknowledgement of the old open one.
    cert2.button.press();
    const newId = await waitFor(() => cert2.alarm.openAlarm?.received && cert2.alarm.openAlarm.alert.alertId, "a new alarm on PostgreSQL");
    await waitFor(() => receiver.deliveredIds().has(newId), "the new alarm delivered");
    expect((await api(pg, "POST", `/api/alarms/${openId}/acknowledge`, { cookie, body: {} })).status).toBe(200);
    expect((await api(pg, "POST", `/api/alarms/${newId}/close`, { cookie, body: { outcome: "help-sent" } })).status).toBe(200);
    await waitFor(() => cert2.alarm.openAlarm === null, "the new alarm's close reaches its kiosk");
    expect(password2.alarm.openAlarm?.alert.alertId).toBe(openId);
    expect((await pg.store.listAlerts()).map((a) => a.alertId).sort()).toEqual([closedId, openId, newId].sort());
  });
});

/**
 * The database goes away under a gateway process while kiosks press: first its connections are
 * killed again and again (pg_terminate_backend), then the database refuses every connection for a
 * while (ALTER DATABASE … ALLOW_CONNECTIONS false, its connections killed). The gateway never exits;
 * no alert is acknowledged before it is committed (each ack is checked against the database at once);
 * during the outage nothing is acknowledged, /readyz answers 503 and sos_store_up is 0, the log says
 * so once, and once more when it is back; afterwards every alert reaches dispatch, stored once.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { deferCleanups } from "../integration/cleanups.js";
import {
  DISPATCH_SECRET,
  freePort,
  provisionTestKiosk,
  spawnSos,
  startTestKiosk,
  storeArgs,
  tempDir,
  waitFor,
  type SosProcess,
  type StoreTarget,
  type TestKiosk,
} from "../integration/harness.js";
import { connectionKiller, createTestDatabase, keepKilling, killUntilNone, TEST_PG_SERVER, type TestDatabase } from "./pg-database.js";

const PER_ROUND = 6;
const ROUNDS = ["killed-1", "killed-2", "refused"] as const;
const CONTROL = "sos-test-control";

describe("the database lost while kiosks press loses no alert", () => {
  const defer = deferCleanups();
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it("never exits, acknowledges only what is committed, says the outage once (log, /readyz, sos_store_up), and every alert reaches dispatch", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    // The test's own connection, spared by the kills, checks each ack against what is committed.
    const control = postgres(db.url, { max: 1, onnotice: () => undefined, connection: { application_name: CONTROL } });
    defer(() => control.end({ timeout: 5 }));
    // The server's own database, for what cannot be done from inside the test database.
    const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
    defer(() => admin.end({ timeout: 5 }));
    const kill = connectionKiller(admin, db.name, CONTROL);

    const dir = tempDir("sos-pg-lost-");
    defer(() => dir.remove());
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    const target: StoreTarget = { dataDir: `${dir.path}/gw`, storeUrl: db.url };
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const gateway: SosProcess = spawnSos(
      ["gateway", ...storeArgs(target), "--mqtt-host", "127.0.0.1", "--mqtt-port", String(mqttPort), "--http-host", "127.0.0.1", "--http-port", String(httpPort), "--dispatch-url", receiver.url],
      { env: { SOS_DISPATCH_SECRET: DISPATCH_SECRET } },
    );
    defer(async () => {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill("SIGKILL");
        await gateway.exited;
      }
    });
    await gateway.waitForLog("gateway ready");
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    const http = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${httpPort}${path}`);
    const logCount = (msg: string): number => gateway.stdout.filter((l) => l.includes(`"msg":"${msg}`)).length;

    const kiosks = new Map<string, TestKiosk[]>();
    defer(async () => {
      await Promise.all([...kiosks.values()].flat().map((k) => k.stop()));
    });
    const pressed = new Map<string, string>(); // alertId -> round
    const acked = new Map<string, string>(); // alertId -> round
    const uncommittedAtAck: string[] = [];
    const checks: Promise<void>[] = [];
    for (const round of ROUNDS) {
      const group: TestKiosk[] = [];
      for (let i = 0; i < PER_ROUND; i += 1) {
        const id = `kz-pg-${round}-${i}`;
        const kiosk = await startTestKiosk(await provisionTestKiosk(target, id, mqttUrl, dir.path));
        kiosk.events.on("alert.recorded", "test", ({ alert }) => pressed.set(alert.alertId, round));
        kiosk.events.on("alert.acked", "test", ({ alertId }) => {
          acked.set(alertId, round);
          checks.push(
            control`SELECT 1 FROM alerts WHERE alert_id = ${alertId}`.then((rows) => {
              if (rows.length === 0) uncommittedAtAck.push(alertId);
            }),
          );
        });
        group.push(kiosk);
      }
      kiosks.set(round, group);
    }
    await waitFor(() => [...kiosks.values()].flat().every((k) => k.logs.find("connected to gateway").length > 0), "every kiosk connected", 20_000);

    // Rounds 1 and 2: the gateway's connections are killed every 100 ms while a group presses.
    for (const round of ["killed-1", "killed-2"] as const) {
      const group = kiosks.get(round) ?? [];
      const killer = keepKilling(kill, 100);
      for (const kiosk of group) kiosk.button.press();
      await waitFor(() => [...pressed.values()].filter((r) => r === round).length === PER_ROUND, `round ${round}: every press recorded`);
      await new Promise((r) => setTimeout(r, 1_500));
      const killed = await killer.stop();
      expect(killed, `round ${round}: connections were killed`).toBeGreaterThan(0);
      expect(gateway.child.exitCode).toBeNull();
    }

    // Round 3: the database refuses every connection for a while. (A kill above may have been an
    // outage of its own for a moment: each is said once, and once more when it ended; it is over first.)
    await waitFor(async () => /^sos_store_up 1$/m.test(await (await http("/metrics")).text()), "the store up after the kills", 20_000);
    const outagesBefore = logCount("store unreachable");
    const recoveriesBefore = logCount("store reachable again");
    await admin.unsafe(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
    await killUntilNone(kill);
    const group = kiosks.get("refused") ?? [];
    for (const kiosk of group) kiosk.button.press();
    await waitFor(() => [...pressed.values()].filter((r) => r === "refused").length === PER_ROUND, "round refused: every press recorded");
    await waitFor(() => logCount("store unreachable: alerts are not acknowledged (kiosks keep them and resend) until it answers again") > outagesBefore, "the outage in the log", 20_000);
    const ready = await waitFor(async () => {
      const res = await http("/readyz");
      return res.status === 503 ? ((await res.json()) as { data: Record<string, string> }) : undefined;
    }, "/readyz 503");
    expect(ready.data.store).toMatch(/^unreachable since \S+: /);
    expect(await (await http("/metrics")).text()).toMatch(/^sos_store_up 0$/m);
    // Kiosks keep resending meanwhile (every 0.5-2 s): still nothing of this round is acknowledged.
    await new Promise((r) => setTimeout(r, 3_000));
    expect([...acked.values()].filter((r) => r === "refused")).toEqual([]);
    expect(group.every((k) => k.outbox.depth === 1)).toBe(true);
    expect(logCount("store unreachable")).toBe(outagesBefore + 1);
    expect(gateway.child.exitCode).toBeNull();

    await admin.unsafe(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`);
    await waitFor(() => logCount("store reachable again: alerts are stored and acknowledged") > recoveriesBefore, "the end of the outage in the log", 20_000);
    expect(logCount("store reachable again")).toBe(recoveriesBefore + 1);
    await waitFor(async () => (await http("/readyz")).status === 200, "/readyz 200 again");
    expect(await (await http("/metrics")).text()).toMatch(/^sos_store_up 1$/m);

    // Everything pressed is delivered, acknowledged, and stored once.
    await waitFor(() => [...pressed.keys()].every((id) => receiver.deliveredIds().has(id)), "every alert delivered to dispatch", 30_000);
    await waitFor(() => [...kiosks.values()].flat().every((k) => k.outbox.depth === 0), "every kiosk outbox emptied by an ack", 20_000);
    await Promise.all(checks);
    expect(pressed.size).toBe(PER_ROUND * ROUNDS.length);
    expect(uncommittedAtAck).toEqual([]);
    expect(new Set(acked.keys())).toEqual(new Set(pressed.keys()));
    expect(receiver.deliveredIds()).toEqual(new Set(pressed.keys()));
    // A dispatch request whose delivery could not be recorded is sent again, the same body under
    // the same Idempotency-Key: dispatch takes each alertId once.
    for (const [alertId] of pressed) {
      const requests = receiver.requests.filter((r) => r.body.alertId === alertId);
      expect(new Set(requests.map((r) => r.headers["idempotency-key"]))).toEqual(new Set([alertId]));
      expect(new Set(requests.map((r) => r.raw)).size).toBe(1);
    }
    const stored = await control<{ alert_id: string }[]>`SELECT alert_id FROM alerts`;
    expect(stored.map((r) => r.alert_id).sort()).toEqual([...pressed.keys()].sort());
    expect(logCount("store reachable again")).toBe(logCount("store unreachable"));

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
  });
});

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import {
  DISPATCH_SECRET,
  freePort,
  provisionTestKiosk,
  spawnSos,
  startTestKiosk,
  tempDir,
  waitFor,
  type SosProcess,
  type TestKiosk,
} from "./harness.js";

const hasLog = (p: SosProcess, msg: string): boolean => p.logLines().some((line) => line.msg === msg);

describe("SIGTERM shuts a service down cleanly and keeps what is not yet delivered", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const children: SosProcess[] = [];
  afterEach(async () => {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill("SIGKILL");
        await c.exited;
      }
    }
    children.length = 0;
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it("gateway: exits 0 and logs 'gateway stopped', leaving an alert dispatch refuses parked as pending in the store", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const gatewayDir = join(dir.path, "gw");
    const receiver = await new DispatchReceiver().start();
    receiver.respond = () => 503;
    cleanups.push(() => receiver.stop());
    const mqttPort = await freePort();

    const gw = spawnSos(
      [
        "gateway",
        "--data-dir", gatewayDir,
        "--mqtt-host", "127.0.0.1",
        "--mqtt-port", String(mqttPort),
        "--http-port", "0",
        "--http-host", "127.0.0.1",
        "--dispatch-url", receiver.url,
      ],
      { env: { SOS_DISPATCH_SECRET: DISPATCH_SECRET } },
    );
    children.push(gw);
    await gw.waitForLog("gateway ready");

    const config = await provisionTestKiosk(gatewayDir, "kz-term-0001", `mqtt://127.0.0.1:${mqttPort}`, dir.path);
    const kiosk: TestKiosk = await startTestKiosk(config);
    cleanups.push(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    const alert = kiosk.raise("sos");
    await waitFor(() => kiosk.outbox.depth === 0, "alert acknowledged (stored by the gateway)");
    await waitFor(() => receiver.requests.find((r) => r.body.alertId === alert.alertId), "a refused dispatch attempt");

    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(hasLog(gw, "gateway stopped")).toBe(true);
    expect(gw.stderr).toEqual([]);

    const store = SqliteStore.open(gatewayDir, { readonly: true });
    try {
      const row = await store.getAlert(alert.alertId);
      expect(row).toMatchObject({ alertId: alert.alertId, kioskId: "kz-term-0001", delivery: "pending", deliveredAt: null, lastError: "HTTP 503" });
      expect(row!.attempts).toBeGreaterThanOrEqual(1);
      expect(row!.nextAttemptAt).not.toBeNull(); // parked for a retry, not dropped
      expect(await store.countByDelivery()).toEqual({ pending: 1, delivered: 0 });
      const attempts = await store.attemptsFor(alert.alertId);
      expect(attempts.length).toBe(row!.attempts);
      expect(attempts.every((a) => !a.ok && a.httpStatus === 503)).toBe(true);
    } finally {
      await store.close();
    }
    expect(receiver.deliveredIds().size).toBe(0);
  });

  it("kiosk: exits 0 and logs 'kiosk agent stopped', leaving an unacknowledged alert in its outbox", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const mqttPort = await freePort(); // no gateway listens here
    await provisionTestKiosk(join(dir.path, "gw"), "kz-term-0002", `mqtt://127.0.0.1:${mqttPort}`, dir.path);
    const bundle = join(dir.path, "kz-term-0002");
    const configPath = join(bundle, "kiosk.json");
    const raw = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    raw.reconnect = { minMs: 100, maxMs: 500, factor: 2, jitter: 0 };
    raw.alerts = { ackTimeoutMs: 1_000, resend: { minMs: 500, maxMs: 2_000, factor: 2, jitter: 0 } };
    writeFileSync(configPath, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });

    const kiosk = spawnSos(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "info"]);
    children.push(kiosk);
    await kiosk.waitForLog("button armed");
    kiosk.child.stdin!.write("press\n");
    const recorded = await kiosk.waitForLog("alert recorded");
    await kiosk.waitForLog("gateway unreachable: retrying");
    const outboxFile = join(bundle, "data", "outbox", `${recorded.alertId as string}.alert.json`);
    expect(existsSync(outboxFile)).toBe(true);

    kiosk.child.kill("SIGTERM");
    expect(await kiosk.exited).toEqual({ code: 0, signal: null });
    expect(await kiosk.waitForLog("kiosk agent stopped", 0)).toMatchObject({ pending: 1 });
    expect(kiosk.stderr).toEqual([]);
    expect(existsSync(outboxFile)).toBe(true);
    expect(JSON.parse(readFileSync(outboxFile, "utf8"))).toMatchObject({ alertId: recorded.alertId, kioskId: "kz-term-0002" });
  });

  it("exits 0 with a clean stop even when SIGTERM arrives the instant the service reports ready", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const gatewayDir = join(dir.path, "gw");
    await provisionTestKiosk(gatewayDir, "kz-term-0003", `mqtt://127.0.0.1:${await freePort()}`, dir.path);
    const configPath = join(dir.path, "kz-term-0003", "kiosk.json");

    // Readiness is announced from inside start; a supervisor may stop the service right then.
    const services: { args: string[]; ready: string; stopped: string }[] = [
      { args: ["gateway", "--data-dir", gatewayDir, "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0"], ready: "gateway ready", stopped: "gateway stopped" },
      { args: ["kiosk", "--config", configPath, "--button", "stdin"], ready: "button armed", stopped: "kiosk agent stopped" },
    ];
    for (const { args, ready, stopped } of services) {
      for (let i = 0; i < 4; i += 1) {
        const p = spawnSos(args);
        children.push(p);
        let signalled = false;
        p.child.stdout!.on("data", () => {
          // runs after the harness's own listener has split the chunk into lines
          if (!signalled && hasLog(p, ready)) {
            signalled = true;
            p.child.kill("SIGTERM");
          }
        });
        expect(await p.exited, `${args[0]} run ${i}: ${p.stdout.slice(-3).join(" | ")}`).toEqual({ code: 0, signal: null });
        expect(hasLog(p, stopped)).toBe(true);
      }
    }
  });

  it("gateway: SIGTERM does not wait for a connection that has not completed MQTT CONNECT", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const gw = spawnSos(["gateway", "--data-dir", join(dir.path, "gw"), "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0"]);
    children.push(gw);
    const { mqttPort } = (await gw.waitForLog("gateway ready")) as { mqttPort: number };

    // A client that opened TCP but has not finished connecting (slow link, or still being
    // authenticated): it is no Aedes client yet, so closing the broker alone does not close it.
    const socket = connect(mqttPort, "127.0.0.1");
    cleanups.push(() => void socket.destroy());
    let socketClosed = false;
    socket.on("close", () => (socketClosed = true));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));

    gw.child.kill("SIGTERM");
    // Well inside the 5 s shutdown grace; without closing such sockets it took Aedes' 30 s connect timeout.
    await waitFor(() => gw.child.exitCode !== null || gw.child.signalCode !== null, "gateway exit after SIGTERM", 8_000);
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(hasLog(gw, "gateway stopped")).toBe(true);
    await waitFor(() => socketClosed, "the half-open connection closed by the gateway");
  });
});

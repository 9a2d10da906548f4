import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import {
  DISPATCH_SECRET,
  freePort,
  provisionTestKiosk,
  spawnSos,
  startTestGateway,
  tempDir,
  waitFor,
  type SosProcess,
  type TestGateway,
} from "./harness.js";

const KIOSK_ID = "kz-crash-0001";

/** kiosk.json as `sos provision` wrote it, with test timings so the child process retries quickly. */
function useFastTimings(configPath: string): void {
  const raw = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  raw.reconnect = { minMs: 100, maxMs: 500, factor: 2, jitter: 0 };
  raw.alerts = { ackTimeoutMs: 1_000, resend: { minMs: 500, maxMs: 2_000, factor: 2, jitter: 0 } };
  writeFileSync(configPath, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
}

const logsNamed = (p: SosProcess, msg: string): Record<string, unknown>[] => p.logLines().filter((line) => line.msg === msg);

describe("a kiosk that crashes before the gateway's ack resends the alert after restart", () => {
  const defer = deferCleanups();

  it("keeps the unacknowledged alert on disk across SIGKILL and delivers that same alertId exactly once", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gatewayDir = join(dir.path, "gw");
    const mqttPort = await freePort(); // nothing listens here until the gateway starts below
    await provisionTestKiosk(gatewayDir, KIOSK_ID, `mqtt://127.0.0.1:${mqttPort}`, dir.path);
    const bundle = join(dir.path, KIOSK_ID);
    const configPath = join(bundle, "kiosk.json");
    useFastTimings(configPath);

    const children: SosProcess[] = [];
    defer(async () => {
      for (const c of children) {
        if (c.child.exitCode === null && c.child.signalCode === null) {
          c.child.kill("SIGKILL");
          await c.exited;
        }
      }
    });
    const spawnKiosk = (): SosProcess => {
      const p = spawnSos(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "info"]);
      children.push(p);
      return p;
    };

    // Run 1: no gateway. The press is recorded; the agent keeps retrying the connection.
    const run1 = spawnKiosk();
    await run1.waitForLog("button armed");
    run1.child.stdin!.write("press\n");
    const recorded = await run1.waitForLog("alert recorded");
    const alertId = recorded.alertId as string;
    expect(recorded).toMatchObject({ kioskId: KIOSK_ID, durable: true });
    await waitFor(() => logsNamed(run1, "gateway unreachable: retrying").length >= 3 || undefined, "repeated reconnect attempts");
    expect(run1.child.exitCode).toBeNull(); // an unreachable gateway is never a reason to exit
    expect(logsNamed(run1, "alert acknowledged by gateway")).toEqual([]);

    run1.child.kill("SIGKILL");
    expect((await run1.exited).signal).toBe("SIGKILL");
    const outboxFile = join(bundle, "data", "outbox", `${alertId}.alert.json`);
    expect(existsSync(outboxFile)).toBe(true);
    const onDisk = JSON.parse(readFileSync(outboxFile, "utf8")) as { pressedAt: string };
    expect(onDisk).toMatchObject({ alertId, kioskId: KIOSK_ID, kind: "sos" });

    // The gateway comes up on the port the kiosk was provisioned with.
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    const gateway: TestGateway = await startTestGateway(gatewayDir, {
      mqtt: { host: "127.0.0.1", port: mqttPort },
      dispatch: { url: receiver.url, secret: DISPATCH_SECRET },
    });
    defer(() => gateway.stop());

    // Run 2: the restarted agent finds the alert in its outbox and sends it; nobody presses again.
    const run2 = spawnKiosk();
    expect(await run2.waitForLog("button armed")).toMatchObject({ pending: 1 });
    await waitFor(() => receiver.requests.find((r) => r.body.alertId === alertId), "the crashed alert at dispatch");
    // The agent logs the ack after it has deleted the outbox file.
    expect(await run2.waitForLog("alert acknowledged by gateway")).toMatchObject({ alertId });
    expect(existsSync(outboxFile)).toBe(false);
    expect(logsNamed(run2, "alert acknowledged by gateway")).toHaveLength(1);
    expect(logsNamed(run2, "alert recorded")).toEqual([]);
    await waitFor(async () => (await gateway.store.getAlert(alertId))?.delivery === "delivered", "alert marked delivered");

    // Stop both ends so nothing more can reach dispatch, then count.
    run2.child.kill("SIGTERM");
    expect(await run2.exited).toEqual({ code: 0, signal: null });
    await gateway.stop();
    expect(receiver.requests.map((r) => r.body.alertId)).toEqual([alertId]);
    expect(receiver.requests[0]!.body).toMatchObject({ kioskId: KIOSK_ID, pressedAt: onDisk.pressedAt });
  });
});

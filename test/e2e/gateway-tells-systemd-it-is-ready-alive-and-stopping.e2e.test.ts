/**
 * The gateway under systemd (deploy/systemd/sos-gateway.service: Type=notify, WatchdogSec=), against a
 * notify socket the test owns and the real systemd-notify: READY=1 once it serves, WATCHDOG=1 pings
 * while healthy, none while its event loop is stalled, pings go on (with a STATUS line) while the
 * store is down (it recovers by itself: no restart loop), STOPPING=1 at SIGTERM; nothing at all
 * without NOTIFY_SOCKET.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gateway/service/systemd.js";
import { SystemdNotifier } from "../../shared/service/notify.js";
import type { WatchdogTick } from "../../shared/service/watchdog.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { openNotifySocket, SYSTEMD_NOTIFY } from "../fixtures/fake-notify-socket.js";
import { deferCleanups } from "../integration/cleanups.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { DISPATCH_SECRET, spawnSos, startTestGateway, tempDir, waitFor } from "../integration/harness.js";

describe("the gateway tells systemd it is ready, alive and stopping", () => {
  const defer = deferCleanups();

  beforeAll(() => {
    if (SYSTEMD_NOTIFY === undefined) throw new Error("systemd-notify is not installed (Debian: package systemd)");
  });

  async function gatewayProcess(env: NodeJS.ProcessEnv): Promise<ReturnType<typeof spawnSos>> {
    const dir = tempDir();
    const receiver = await new DispatchReceiver().start();
    defer(async () => {
      await receiver.stop();
      dir.remove();
    });
    const args = ["gateway", "--data-dir", join(dir.path, "gw"), "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-host", "127.0.0.1", "--http-port", "0", "--dispatch-url", receiver.url];
    const gw = spawnSos(args, { env: { SOS_DISPATCH_SECRET: DISPATCH_SECRET, ...env } });
    defer(async () => {
      if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill("SIGKILL");
      await gw.exited;
    });
    return gw;
  }

  it("the gateway process: READY=1 once it serves, pings at half WATCHDOG_USEC, STOPPING=1 at SIGTERM", async () => {
    const socket = await openNotifySocket(defer);
    const gw = await gatewayProcess({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: "400000" });
    await gw.waitForLog("gateway ready");
    await waitFor(() => socket.count("WATCHDOG=1") >= 2, "two pings from the gateway process", 30_000);
    expect(socket.messages[0]?.split("\n")[0]).toBe("READY=1");
    expect(socket.messages[0]).toMatch(/\nSTATUS=ready: mqtt \d+, mqtts off, http \d+$/);
    expect((await gw.waitForLog("systemd watchdog armed")).intervalMs).toBe(200);
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    const stopping = socket.find("STOPPING=1");
    expect(stopping).toBeDefined();
    expect(socket.indexesOf("READY=1")).toEqual([0]);
  }, 60_000);

  it("runs no systemd-notify at all without NOTIFY_SOCKET", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    // A systemd-notify first on PATH that only records being called.
    const bin = join(dir.path, "bin");
    mkdirSync(bin);
    const calls = join(dir.path, "calls.log");
    writeFileSync(join(bin, "systemd-notify"), `#!/bin/sh\necho "$@" >> '${calls}'\n`);
    chmodSync(join(bin, "systemd-notify"), 0o755);
    const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH ?? ""}`, WATCHDOG_USEC: "200000" };
    delete env.NOTIFY_SOCKET;
    const gw = await gatewayProcess({ ...env, NOTIFY_SOCKET: "" });
    await gw.waitForLog("gateway ready");
    await new Promise((resolve) => setTimeout(resolve, 800));
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(calls)).toBe(false);
    expect(gw.stdout.some((l) => l.includes("systemd watchdog armed"))).toBe(false);
  }, 60_000);

  it("pings stop while the event loop is stalled, and go on while the store is down (STATUS says so)", async () => {
    const socket = await openNotifySocket(defer);
    const dir = tempDir();
    const gateway = await startTestGateway(join(dir.path, "gw"));
    defer(async () => {
      await gateway.stop();
      dir.remove();
    });
    const logs = new LogCapture();
    const service = new GatewayService(gateway, new SystemdNotifier({ socket: socket.path, program: SYSTEMD_NOTIFY }, logs.logger("systemd")), 100, logs.logger("systemd"));
    defer(() => service.stop());
    const ticks: WatchdogTick[] = [];
    service.watchdog.on("tick", (t) => ticks.push(t));
    await service.ready();
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a first ping");
    expect(socket.messages[0]?.split("\n")[0]).toBe("READY=1");

    // A stalled loop (longer than maxLoopLagMs, 1 s at 100 ms): no ping until it runs freely again.
    const seen = ticks.length;
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      /* stalled on purpose */
    }
    await waitFor(() => ticks.slice(seen).some((t) => t.healthy), "a healthy tick after the stall");
    expect(ticks.slice(seen).find((t) => !t.healthy)?.problems.join()).toMatch(/event loop stalled/);
    const bad = await waitFor(() => socket.find("STATUS=gateway unhealthy"), "STATUS unhealthy");
    const good = await waitFor(() => socket.find("STATUS=gateway healthy", bad), "STATUS healthy again");
    expect(socket.messages.slice(bad + 1, good).filter((m) => m.split("\n").includes("WATCHDOG=1"))).toEqual([]);

    // The store down: said in STATUS, and the pings go on (a restart would not bring the store back).
    gateway.events.emit("store.down", { since: new Date().toISOString(), lastError: "connection refused" });
    const down = await waitFor(() => socket.find("STATUS=store unreachable since"), "STATUS store unreachable");
    await waitFor(() => socket.indexesOf("WATCHDOG=1").filter((i) => i > down).length >= 3, "pings while the store is down");

    await service.stop();
    await waitFor(() => socket.find("STOPPING=1"), "STOPPING=1");
  }, 60_000);
});

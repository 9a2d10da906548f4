/**
 * The watchdog contract against a notify socket the test owns (python3 binds it) and the real
 * systemd-notify program: READY=1 once the button is armed, WATCHDOG=1 while the alarm path is
 * healthy, no ping while the outbox cannot be written, the event loop stalls or the button driver
 * died; nothing at all without NOTIFY_SOCKET.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { notifierFromEnv, type ServiceNotifier, SystemdNotifier } from "../../shared/service/notify.js";
import type { WatchdogTick } from "../../shared/service/watchdog.js";
import { type KioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import { type FakeNotifySocket, openNotifySocket, SYSTEMD_NOTIFY } from "../fixtures/fake-notify-socket.js";
import { deferCleanups } from "../integration/cleanups.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { spawnSos, tempDir, waitFor } from "../integration/harness.js";

describe("the systemd watchdog is fed only while the alarm path is healthy", () => {
  const defer = deferCleanups();

  beforeAll(() => {
    // The contract is systemd-notify's: without the real program this test would prove nothing.
    if (SYSTEMD_NOTIFY === undefined) throw new Error("systemd-notify is not installed (Debian: package systemd)");
  });

  const kioskConfig = (dataDir: string): KioskConfig =>
    parseKioskConfig({
      version: 1,
      kioskId: "kz-wdg-0001",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      // Nothing listens there: the alarm path (button → outbox) works without the gateway.
      mqtt: { url: "mqtt://127.0.0.1:9", username: "kz-wdg-0001", password: "s3cret-password" },
      dataDir,
      log: { level: "info" },
    });

  async function start(notifier: ServiceNotifier, intervalMs: number | null = 100): Promise<{ kiosk: KioskHandle; button: FakeButton; logs: LogCapture; ticks: WatchdogTick[]; dataDir: string }> {
    const dir = tempDir();
    defer(() => dir.remove());
    const logs = new LogCapture();
    const button = new FakeButton();
    const kiosk = await startKiosk(kioskConfig(join(dir.path, "data")), {
      log: logs.logger("kiosk"),
      button,
      indicator: new RecordingIndicator(),
      player: new RecordingPlayer(),
      notifier,
      watchdogIntervalMs: intervalMs,
    });
    defer(() => kiosk.stop());
    const ticks: WatchdogTick[] = [];
    kiosk.watchdog.on("tick", (t) => ticks.push(t));
    return { kiosk, button, logs, ticks, dataDir: join(dir.path, "data") };
  }

  const systemd = (socket: FakeNotifySocket, logs = new LogCapture()): SystemdNotifier =>
    new SystemdNotifier({ socket: socket.path, program: SYSTEMD_NOTIFY }, logs.logger("systemd"));

  /** Puts the problem in place, waits for several unhealthy ticks, clears it; returns the messages between the two STATUS lines. */
  async function unhealthySpell(socket: FakeNotifySocket, ticks: WatchdogTick[], what: RegExp, cause: () => void, cure: () => void): Promise<string[]> {
    const seen = ticks.length;
    cause();
    await waitFor(() => ticks.slice(seen).filter((t) => !t.healthy).length >= 4, "four unhealthy ticks");
    cure();
    const bad = await waitFor(() => socket.find("STATUS=alarm path unhealthy"), "STATUS unhealthy");
    expect(socket.messages[bad]).toMatch(what);
    const good = await waitFor(() => socket.find("STATUS=alarm path healthy", bad), "STATUS healthy again");
    await waitFor(() => socket.indexesOf("WATCHDOG=1").some((i) => i > good), "pings again after the cure");
    return socket.messages.slice(bad + 1, good);
  }

  it("sends READY=1 once the button is armed, then WATCHDOG=1 pings while healthy", async () => {
    const socket = await openNotifySocket(defer);
    const { logs } = await start(systemd(socket));
    await waitFor(() => socket.count("WATCHDOG=1") >= 3, "three watchdog pings");
    expect(socket.messages[0]?.split("\n")).toEqual(["READY=1", "STATUS=button armed"]);
    expect(socket.count("READY=1")).toBe(1);
    expect(logs.find("button armed")).toHaveLength(1);
  });

  it("stops pinging while the outbox folder cannot be written, and starts again when it can", async () => {
    const socket = await openNotifySocket(defer);
    const { ticks, dataDir } = await start(systemd(socket));
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a first ping");
    const outbox = join(dataDir, "outbox");
    // Root may write through any mode bits, so the folder is replaced by a file (an unmounted or broken data partition).
    const between = await unhealthySpell(
      socket,
      ticks,
      /outbox: not a folder/,
      () => {
        renameSync(outbox, `${outbox}.away`);
        writeFileSync(outbox, "not a folder");
      },
      () => {
        rmSync(outbox);
        renameSync(`${outbox}.away`, outbox);
      },
    );
    expect(between.filter((m) => m.split("\n").includes("WATCHDOG=1"))).toEqual([]);
  });

  it("keeps pinging while a press is held in memory only (a restart cannot mend the disk and would lose it), and writes it once the disk takes writes", async () => {
    const socket = await openNotifySocket(defer);
    const { kiosk, ticks, dataDir, logs } = await start(systemd(socket));
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a first ping");
    const outbox = join(dataDir, "outbox");
    renameSync(outbox, `${outbox}.away`);
    writeFileSync(outbox, "not a folder");
    const held = kiosk.raise("sos");
    expect(kiosk.outbox.inMemoryOnly).toBe(1);
    const seen = ticks.length;
    const pings = socket.count("WATCHDOG=1");
    await waitFor(() => ticks.length >= seen + 4, "four ticks with the press held in memory");
    expect(ticks.slice(seen).every((t) => t.healthy)).toBe(true);
    await waitFor(() => socket.count("WATCHDOG=1") >= pings + 3, "pings go on");
    expect(socket.find("STATUS=alarm path unhealthy")).toBeUndefined();
    expect(logs.find("outbox cannot be written and alerts are held in memory only: the watchdog stays fed, since a restart would lose them; check the data partition")).toHaveLength(1);
    // The heartbeat says so.
    expect(kiosk.faults.all).toContain("outbox:not-durable");
    rmSync(outbox);
    renameSync(`${outbox}.away`, outbox);
    const next = kiosk.raise("sos");
    expect(kiosk.outbox.inMemoryOnly).toBe(0);
    expect(existsSync(join(outbox, `${held.alertId}.alert.json`)) && existsSync(join(outbox, `${next.alertId}.alert.json`))).toBe(true);
    expect(kiosk.faults.all).not.toContain("outbox:not-durable");
  });

  it("skips the ping after the event loop stalled", async () => {
    const socket = await openNotifySocket(defer);
    const { ticks } = await start(systemd(socket));
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a first ping");
    const seen = ticks.length;
    // Blocks this thread longer than maxLoopLagMs (1 s at a 100 ms interval): a wedged alarm path.
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      /* stalled on purpose */
    }
    await waitFor(() => ticks.slice(seen).some((t) => t.healthy), "a healthy tick after the stall");
    const stalled = ticks.slice(seen).find((t) => !t.healthy);
    expect(stalled?.problems.join()).toMatch(/event loop stalled/);
    const bad = await waitFor(() => socket.find("STATUS=alarm path unhealthy"), "STATUS unhealthy");
    const good = await waitFor(() => socket.find("STATUS=alarm path healthy", bad), "STATUS healthy again");
    expect(socket.messages.slice(bad + 1, good).filter((m) => m.includes("WATCHDOG=1"))).toEqual([]);
  });

  it("stops pinging when the button driver has died", async () => {
    const socket = await openNotifySocket(defer);
    const { button, ticks } = await start(systemd(socket));
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a first ping");
    const between = await unhealthySpell(
      socket,
      ticks,
      /button: fake driver not running/,
      () => (button.machineryAlive = false),
      () => (button.machineryAlive = true),
    );
    expect(between.filter((m) => m.split("\n").includes("WATCHDOG=1"))).toEqual([]);
  });

  it("runs no systemd-notify at all without NOTIFY_SOCKET (and does with it)", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    // A systemd-notify that records each call before doing the real thing.
    const calls = join(dir.path, "calls.log");
    const wrapper = join(dir.path, "systemd-notify");
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${calls}'\nexec '${SYSTEMD_NOTIFY}' "$@"\n`);
    chmodSync(wrapper, 0o755);

    const quiet = notifierFromEnv({ WATCHDOG_USEC: "200000" }, new LogCapture().logger("systemd"), wrapper);
    expect(quiet.enabled).toBe(false);
    const outside = await start(quiet);
    outside.kiosk.raise("sos");
    await outside.kiosk.stop();
    expect(existsSync(calls)).toBe(false);
    expect(outside.logs.find("systemd watchdog armed")).toEqual([]);

    const socket = await openNotifySocket(defer);
    const inside = await start(notifierFromEnv({ NOTIFY_SOCKET: socket.path }, new LogCapture().logger("systemd"), wrapper));
    await waitFor(() => socket.count("WATCHDOG=1") >= 1, "a ping under systemd");
    await inside.kiosk.stop();
    await waitFor(() => socket.find("STOPPING=1"), "STOPPING=1");
    expect(readFileSync(calls, "utf8")).toMatch(/^READY=1 STATUS=button armed\n/);
  });

  it("the agent process under a notify socket: READY=1 after 'button armed', then pings at half WATCHDOG_USEC", async () => {
    const socket = await openNotifySocket(defer);
    const dir = tempDir();
    defer(() => dir.remove());
    mkdirSync(join(dir.path, "data"));
    const configPath = join(dir.path, "kiosk.json");
    writeFileSync(configPath, JSON.stringify({ ...kioskConfig("data"), dataDir: "data" }));
    const agent = spawnSos(["kiosk", "--config", configPath, "--button", "stdin"], { env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: "400000" } });
    defer(async () => {
      agent.child.kill("SIGKILL");
      await agent.exited;
    });
    await agent.waitForLog("button armed");
    await waitFor(() => socket.count("WATCHDOG=1") >= 2, "two pings from the agent process");
    expect(socket.messages[0]).toContain("READY=1");
    expect((await agent.waitForLog("systemd watchdog armed")).intervalMs).toBe(200);
  });
});

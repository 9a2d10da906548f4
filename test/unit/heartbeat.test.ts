import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { HeartbeatSender } from "../../device/health/heartbeat.js";
import { LinuxSystemProbe, linkTypeOf, parseDefaultRoute, parseWirelessLevel } from "../../device/health/probe.js";
import { type HeartbeatSources, gatherHeartbeat } from "../../device/health/report.js";
import { systemClock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import { type Heartbeat, heartbeatSchema } from "../../shared/health.js";
import { FakeSystemProbe } from "../fixtures/fake-system-probe.js";
import { LogCapture } from "../fixtures/log-capture.js";

const INTERVAL_MS = 10_000;
const T0 = new Date("2025-01-02T03:00:00.000Z");

describe("HeartbeatSender", () => {
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let probe: FakeSystemProbe;
  let sent: { hb: Heartbeat; at: number }[];
  let sender: HeartbeatSender;
  let failPublish: boolean;
  let sources: HeartbeatSources;

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    logs = new LogCapture();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    probe = new FakeSystemProbe();
    sent = [];
    failPublish = false;
    sources = {
      clock: systemClock,
      probe,
      agentVersion: "0.1.0",
      intervalS: INTERVAL_MS / 1_000,
      dataDir: "/var/lib/sos",
      outboxDepth: () => 2,
      openAlarm: () => ({ alert: { alertId: "a-1" } as never, openedAt: T0.toISOString(), received: true }),
      faults: () => ["selftest:camera"],
      selfTests: () => [{ name: "camera", result: "fail", detail: "black picture", at: T0.toISOString(), durationMs: 1_200, measurements: { meanLuma: 16 } }],
      lastTestAlarmAt: () => new Date("2025-01-01T05:00:00.000Z"),
      sensors: () => ({ tamper: "closed", power: "mains" }),
    };
    sender = new HeartbeatSender({ bus, intervalMs: INTERVAL_MS, log: logs.logger("heartbeat", "debug"), gather: (seq) => gatherHeartbeat(seq, sources) });
    sender.attach((hb) => {
      if (failPublish) return Promise.reject(new Error("not connected to the gateway"));
      sent.push({ hb: heartbeatSchema.parse(hb), at: Date.now() - T0.getTime() });
      return Promise.resolve();
    });
  });

  afterEach(() => {
    sender.stop();
    vi.useRealTimers();
  });

  const seqs = (): number[] => sent.map((s) => s.hb.seq);

  it("sends nothing before the link is up", async () => {
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(sent).toEqual([]);
  });

  it("sends one at once when the link comes up, then one every interval, seq growing by one", async () => {
    await vi.advanceTimersByTimeAsync(3_000);
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.at)).toEqual([3_000]);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(sent.map((s) => s.at)).toEqual([3_000, 13_000, 23_000, 33_000]);
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(sender.sent).toBe(4);
  });

  it("stops while the link is down and starts again at once on reconnect, seq carrying on", async () => {
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    bus.emit("link.down", { reason: "connection reset" });
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(seqs()).toEqual([1, 2]);
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(sent[2]?.at).toBe(11 * INTERVAL_MS);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(seqs()).toEqual([1, 2, 3, 4]);
  });

  it("a link that comes up before the publisher is attached gets its heartbeat at attach", async () => {
    sender.stop();
    const late: Heartbeat[] = [];
    const s = new HeartbeatSender({ bus, intervalMs: INTERVAL_MS, log: logs.logger("hb"), gather: (seq) => gatherHeartbeat(seq, sources) });
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    s.attach((hb) => Promise.resolve(void late.push(hb)));
    await vi.advanceTimersByTimeAsync(0);
    expect(late.map((h) => h.seq)).toEqual([1]);
    s.stop();
  });

  it("carries the kiosk's state: version, uptime, system, link type, outbox, open alarm, faults, self-tests, test alarm, sensors", async () => {
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[0]?.hb).toEqual({
      v: 1,
      seq: 1,
      sentAt: T0.toISOString(),
      intervalS: 10,
      agentVersion: "0.1.0",
      uptimeS: 120,
      system: { uptimeS: 86_400, cpuTempC: 48.3, load1: 0.42, memFreeMb: 512, diskFreeMb: 20_480 },
      link: { type: "wifi", iface: "wlan0", signalDbm: -61 },
      outboxDepth: 2,
      openAlarm: { alertId: "a-1", openedAt: T0.toISOString(), received: true },
      faults: ["selftest:camera"],
      selfTests: [{ name: "camera", result: "fail", detail: "black picture", at: T0.toISOString(), durationMs: 1_200, measurements: { meanLuma: 16 } }],
      lastTestAlarmAt: "2025-01-01T05:00:00.000Z",
      kioskState: { tamper: "closed", power: "mains" },
    });
    expect(probe.diskDirs).toEqual(["/var/lib/sos"]);
  });

  it("probe reads that fail are null, never a missing heartbeat", async () => {
    probe.failing = true;
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[0]?.hb.system).toMatchObject({ cpuTempC: null, diskFreeMb: null });
    expect(sent[0]?.hb.link).toEqual({ type: "unknown", iface: null, signalDbm: null });
  });

  it("a failing publish is logged once per streak, seq still grows, and recovery is logged", async () => {
    failPublish = true;
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(logs.find("heartbeat not sent").map((l) => l.level)).toEqual(["warn", "debug", "debug", "debug"]);
    failPublish = false;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(seqs()).toEqual([5]);
    expect(logs.find("heartbeats are sent again")).toHaveLength(1);
  });

  it("a heartbeat still being gathered when the next is due is not doubled", async () => {
    let release: () => void = () => undefined;
    const slowOnce = new Promise<number>((resolve) => (release = () => resolve(50)));
    probe.cpuTempC = () => {
      probe.cpuTempC = () => Promise.resolve(50);
      return slowOnce;
    };
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(sent).toEqual([]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(seqs()).toEqual([1]);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(seqs()).toEqual([1, 2]);
  });

  it("stop() ends the heartbeats", async () => {
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    sender.stop();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    bus.emit("link.up", {});
    await vi.advanceTimersByTimeAsync(0);
    expect(seqs()).toEqual([1]);
  });
});

describe("SystemProbe (Linux files)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-probe-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ROUTES = [
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    "wwan0\t00000000\t0100A8C0\t0003\t0\t0\t700\t00000000\t0\t0\t0",
    "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0",
    "eth1\t00000000\t0102A8C0\t0002\t0\t0\t10\t00000000\t0\t0\t0",
  ].join("\n");
  const WIRELESS = [
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE",
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22",
    "wlan0: 0000   54.  -56.  -256        0      0      0      0     12        0",
  ].join("\n");

  it("the default route is the up route to 0.0.0.0/0 with the lowest metric", () => {
    expect(parseDefaultRoute(ROUTES)).toBe("wlan0"); // eth1 is not up, eth0 is no default route
    expect(parseDefaultRoute(ROUTES.split("\n").slice(0, 1).join("\n"))).toBeNull();
  });

  it("the link type is guessed from the interface name", () => {
    const cases: [string | null, string][] = [["eth0", "ethernet"], ["enp1s0", "ethernet"], ["end0", "ethernet"], ["wlan0", "wifi"], ["wlp2s0", "wifi"], ["wwan0", "cellular"], ["ppp0", "cellular"], ["usb0", "cellular"], ["tun0", "unknown"], [null, "unknown"]];
    for (const [iface, type] of cases) expect([iface, linkTypeOf(iface)]).toEqual([iface, type]);
  });

  it("the Wi-Fi level comes from /proc/net/wireless", () => {
    expect(parseWirelessLevel(WIRELESS, "wlan0")).toBe(-56);
    expect(parseWirelessLevel(WIRELESS, "wlan1")).toBeNull();
  });

  it("reads temperature, route and signal from the files, and null where they are missing", async () => {
    writeFileSync(join(dir, "temp"), "48312\n");
    writeFileSync(join(dir, "route"), ROUTES);
    writeFileSync(join(dir, "wireless"), WIRELESS);
    const probe = new LinuxSystemProbe({ thermal: join(dir, "temp"), route: join(dir, "route"), wireless: join(dir, "wireless") });
    await expect(probe.cpuTempC()).resolves.toBe(48.3);
    await expect(probe.defaultRoute()).resolves.toEqual({ iface: "wlan0", signalDbm: -56 });
    expect(await probe.diskFreeMb(dir)).toBeGreaterThan(0);
    await expect(probe.diskFreeMb(join(dir, "nope"))).resolves.toBeNull();
    expect(probe.memFreeMb()).toBeGreaterThan(0);
    expect(probe.load1()).toBeGreaterThanOrEqual(0);
    const bare = new LinuxSystemProbe({ thermal: join(dir, "none"), route: join(dir, "none"), wireless: join(dir, "none") });
    await expect(bare.cpuTempC()).resolves.toBeNull();
    await expect(bare.defaultRoute()).resolves.toEqual({ iface: null, signalDbm: null });
  });
});

/**
 * The kiosk's side of supervision on the wire: a retained `online` status at connect, heartbeats
 * every intervalS while connected (one at once), the retained last will `offline` when the link dies
 * without a DISCONNECT, and a clean `offline` (no will after it) at a deliberate stop.
 *
 * Two brokers: a bare Aedes with an open subscriber reads the payloads (the gateway's ACL lets no
 * client read a kiosk's up topics), and the real gateway shows it accepts them all under its ACL
 * without dropping the kiosk. What the gateway does with them (supervision) is not asserted here.
 */
import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { parseKioskConfig, type KioskConfig } from "../../shared/config/kiosk.js";
import { topicFor } from "../../shared/contract.js";
import { type Heartbeat, type Status, heartbeatSchema, statusSchema } from "../../shared/health.js";
import { FRAME_HEIGHT, FRAME_WIDTH } from "../../device/health/checks/camera.js";
import { FakeMedia } from "../fixtures/fake-media.js";
import { AGENT_VERSION } from "../../device/alarm/alarm-controller.js";
import { FakeRunner } from "../fixtures/fake-runner.js";
import { FakeSystemProbe } from "../fixtures/fake-system-probe.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { connectRaw, fastTimings, provisionTestKiosk, startTestGateway, startTestKiosk, type TestKiosk, tempDir, waitFor } from "./harness.js";

const KIOSK_ID = "kz-health-0001";

interface Seen {
  readonly topic: "status" | "heartbeat";
  readonly retain: boolean;
  readonly at: number;
  readonly status?: Status;
  readonly heartbeat?: Heartbeat;
}

describe("a kiosk reports online, heartbeats and offline", () => {
  const defer = deferCleanups();

  async function bareBroker(): Promise<{ host: string; port: number; url: string }> {
    const aedes = await Aedes.createBroker();
    const server: Server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    defer(async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as { port: number }).port;
    return { host: "127.0.0.1", port, url: `mqtt://127.0.0.1:${port}` };
  }

  async function watch(url: string, clientId: string): Promise<{ client: MqttClient; seen: Seen[] }> {
    const client = await connectRaw(url, { clientId });
    defer(() => client.endAsync(true));
    const seen: Seen[] = [];
    const statusTopic = topicFor("status", KIOSK_ID);
    client.on("message", (topic, payload, packet) => {
      const json: unknown = JSON.parse(payload.toString("utf8"));
      const base = { retain: packet.retain, at: Date.now() };
      if (topic === statusTopic) seen.push({ ...base, topic: "status", status: statusSchema.parse(json) });
      else seen.push({ ...base, topic: "heartbeat", heartbeat: heartbeatSchema.parse(json) });
    });
    await client.subscribeAsync([statusTopic, topicFor("heartbeat", KIOSK_ID)], { qos: 1 });
    return { client, seen };
  }

  const statuses = (seen: Seen[]): (string | undefined)[] => seen.flatMap((s) => (s.status === undefined ? [] : [`${s.status.state}:${s.status.reason}`]));
  const seqs = (seen: Seen[]): number[] => seen.flatMap((s) => (s.heartbeat === undefined ? [] : [s.heartbeat.seq]));

  async function kiosk(url: string, extra: Partial<Record<string, unknown>> = {}, deps: Parameters<typeof startTestKiosk>[1] = {}): Promise<TestKiosk> {
    const dir = tempDir("sos-health-");
    defer(() => dir.remove());
    const config: KioskConfig = parseKioskConfig({
      version: 1,
      kioskId: KIOSK_ID,
      location: { lat: 43.25, lon: 76.95, address: "km 12" },
      mqtt: { url, username: KIOSK_ID, password: "pw-123456" },
      dataDir: dir.path,
      health: { heartbeatIntervalS: 1 },
      ...extra,
    });
    const k = await startTestKiosk(config, deps);
    defer(() => k.stop());
    return k;
  }

  it("on an open broker: online (retained), heartbeats 1 s apart, the will on a cut link, clean offline at stop", async () => {
    const broker = await bareBroker();
    const proxy = new TcpProxy(broker);
    const url = await proxy.start();
    defer(() => proxy.stop());
    const watcher = await watch(broker.url, "watcher");
    // Reconnects wait 1.5 s, so the retained will can be read between the cut and the reconnect.
    const k = await kiosk(url, { reconnect: { minMs: 1_500, maxMs: 1_500, factor: 1, jitter: 0 } });

    await waitFor(() => seqs(watcher.seen).length >= 3, "three heartbeats");
    const online = watcher.seen.find((s) => s.status !== undefined)?.status;
    expect(online).toMatchObject({ v: 1, state: "online", reason: "connected", agentVersion: AGENT_VERSION });
    expect(seqs(watcher.seen).slice(0, 3)).toEqual([1, 2, 3]);
    const beats = watcher.seen.filter((s) => s.heartbeat !== undefined);
    expect(beats[2]!.at - beats[1]!.at).toBeGreaterThan(700);
    expect(beats[2]!.at - beats[1]!.at).toBeLessThan(1_500);
    expect(beats[0]?.heartbeat).toMatchObject({ intervalS: 1, agentVersion: AGENT_VERSION, outboxDepth: 0, openAlarm: null, faults: [], selfTests: [], lastTestAlarmAt: null });
    const late = await watch(broker.url, "late-1");
    await waitFor(() => late.seen.find((s) => s.retain && s.status?.state === "online"), "the retained online status");

    proxy.cut();
    await waitFor(() => statuses(watcher.seen).includes("offline:connection-lost"), "the last will");
    const cutAt = Date.now();
    const afterCut = await watch(broker.url, "late-2");
    await waitFor(() => afterCut.seen.find((s) => s.retain && s.status?.reason === "connection-lost"), "the retained will");

    await waitFor(() => statuses(watcher.seen).filter((s) => s === "online:connected").length === 2, "online again after the reconnect", 5_000);
    const down = watcher.seen.filter((s) => s.heartbeat !== undefined && s.at > cutAt && s.at < cutAt + 1_000);
    expect(down).toEqual([]);
    const onlineAgain = watcher.seen.filter((s) => s.status?.state === "online").at(-1)?.at ?? 0;
    const firstAfter = await waitFor(() => watcher.seen.find((s) => s.heartbeat !== undefined && s.at > cutAt + 1_000), "a heartbeat after the reconnect", 3_000);
    expect(Math.abs(firstAfter.at - onlineAgain)).toBeLessThan(500); // at once, not an interval later
    const all = seqs(watcher.seen);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(all.length);

    await k.stop();
    await waitFor(() => statuses(watcher.seen).includes("offline:shutdown"), "the clean offline status");
    await new Promise((r) => setTimeout(r, 300));
    expect(statuses(watcher.seen).at(-1)).toBe("offline:shutdown"); // no will after a clean DISCONNECT
    const afterStop = await watch(broker.url, "late-3");
    await waitFor(() => afterStop.seen.find((s) => s.retain && s.status?.reason === "shutdown"), "the retained shutdown status");
  });

  it("a failing self-test shows in the next heartbeat, as a fault with what was measured, and leaves the lights alone", async () => {
    const broker = await bareBroker();
    const watcher = await watch(broker.url, "watcher");
    const frame = Buffer.alloc(FRAME_WIDTH * FRAME_HEIGHT, 2); // a black camera
    const pcm = Buffer.alloc(2 * 16_000 * 3);
    for (let i = 0; i < pcm.length / 2; i += 1) pcm.writeInt16LE(Math.round(8_000 * Math.sin((2 * Math.PI * 1_000 * i) / 16_000)), i * 2);
    const runner = new FakeRunner((call) => ({ stdout: call.args.includes("v4l2") ? Buffer.concat([frame, frame, frame]) : call.command === "ffmpeg" ? pcm : Buffer.alloc(0) }));
    const k = await kiosk(broker.url, { media: { driver: "wrtc" }, health: { heartbeatIntervalS: 1 } }, { media: new FakeMedia(), runner, probe: new FakeSystemProbe() });
    await waitFor(() => seqs(watcher.seen).length >= 1, "a first heartbeat");
    const lights = k.indicator.shown.length;

    const results = await k.health.selfTests.run();
    expect(results?.map((r) => `${r.name}:${r.result}`)).toEqual(["button:not-applicable", "camera:fail", "audio:pass"]);
    const seen = seqs(watcher.seen).length;
    const next = await waitFor(() => watcher.seen.filter((s) => s.heartbeat !== undefined)[seen]?.heartbeat, "the next heartbeat", 3_000);
    expect(next.faults).toEqual(["selftest:camera"]);
    expect(next.selfTests.find((r) => r.name === "camera")).toMatchObject({ result: "fail", measurements: { meanLuma: 2 } });
    expect(next.system).toMatchObject({ cpuTempC: 48.3, diskFreeMb: 20_480 });
    expect(next.link).toEqual({ type: "wifi", iface: "wlan0", signalDbm: -61 });
    expect(k.faults.current).toEqual([]); // degraded, not blocking: no out-of-order lights
    expect(k.indicator.shown.length).toBe(lights);
  });

  it("the real gateway accepts status, heartbeats and the will under its ACL and never drops the kiosk for them", async () => {
    const dir = tempDir("sos-health-gw-");
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const url = await proxy.start();
    defer(() => proxy.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, KIOSK_ID, url, dir.path);
    const config = fastTimings(parseKioskConfig({ ...provisioned, health: { heartbeatIntervalS: 1 } }));
    const k = await startTestKiosk(config);
    defer(() => k.stop());

    await waitFor(() => k.health.heartbeat.sent >= 3, "three heartbeats sent");
    const refusals = () => gateway.logs.find("publish refused: client disconnected");
    expect(refusals()).toEqual([]);
    expect(gateway.logs.find("kiosk connected")).toHaveLength(1);
    expect(k.logs.find("connected to gateway")).toHaveLength(1);

    proxy.cut(); // the broker sends the will, through the same ACL
    await waitFor(() => gateway.logs.find("kiosk connected").length === 2, "the kiosk back");
    await waitFor(() => k.health.heartbeat.sent >= 5, "heartbeats again");
    await k.stop();
    await waitFor(() => gateway.logs.find("kiosk disconnected").length === 2, "the clean disconnect");
    expect(refusals()).toEqual([]);
    // Not asserted (the gateway does not keep them yet): that it stored the status and the
    // heartbeats. That belongs to the gateway's supervision tests.
  });
});

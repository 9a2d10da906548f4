/**
 * A link that dies silently (the socket stays open, every packet is dropped both ways, no FIN or RST
 * ever arrives) is noticed by the kiosk itself within its 12 s keepalive window, and the kiosk starts
 * reconnecting. Real gateway, real kiosk agent with kiosk.json's defaults for the keepalive, the
 * pings and the heartbeat, a TCP proxy between them that blackholes the link.
 *
 * The kiosk's next ping after the proxy went dark (its own, or a heartbeat's) goes unanswered: the
 * link is given up pingTimeoutMs after it (ping interval + 5 s = 10 s at most, sooner than the
 * keepalive's 1.5 × 12 s; device/link/ping-probe.ts).
 */
import { describe, expect, it } from "vitest";
import { deadLinkNoticedWithinMs } from "../../device/link/reconnect-policy.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

describe("a blackholed link is noticed within the 12 s keepalive window", () => {
  const defer = deferCleanups();

  it("with the default keepalive and pings, the kiosk gives the dead link up by itself within 10 s and tries again", async () => {
    const { dir, gateway } = await startSystem(defer);
    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const url = await proxy.start();
    defer(() => proxy.stop());
    const config = await provisionTestKiosk(gateway.dataDir, "kz-dark-0001", url, dir);
    expect(config.mqtt.keepaliveSeconds).toBe(12); // the production default (kiosk.json from 'sos provision')
    expect(config.health.heartbeatIntervalS).toBe(10);
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    const downs: { at: number; reason: string }[] = [];
    kiosk.events.on("link.down", "test", (e) => downs.push({ at: Date.now(), reason: e.reason }));
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    // The connect's own traffic (subscriptions, online status, first heartbeat) is answered.
    await new Promise((r) => setTimeout(r, 1_000));

    proxy.down("blackhole");
    const darkAt = proxy.downAt!;
    const down = await waitFor(() => downs[0], "the kiosk to notice the dead link", 30_000);
    const noticedAfterMs = down.at - darkAt;
    // The kiosk gave up by itself (the proxy passes no close on a blackholed link): its ping went unanswered.
    expect(down.reason).toBe("Ping timeout");
    expect(kiosk.logs.find("the gateway did not answer a ping: link given up")).toHaveLength(1);
    const bound = deadLinkNoticedWithinMs(config.mqtt.keepaliveSeconds, { pingIntervalMs: config.mqtt.pingIntervalMs, pingTimeoutMs: config.mqtt.pingTimeoutMs });
    expect(bound).toBe(10_000);
    expect(noticedAfterMs).toBeLessThanOrEqual(bound + 1_000);
    expect(noticedAfterMs).toBeLessThan(config.mqtt.keepaliveSeconds * 1_000);
    await waitFor(() => kiosk.logs.find("gateway unreachable: retrying", (l) => l.reason === "Ping timeout").length > 0, "a reconnect planned");
  });
});

/**
 * A link that dies silently (the socket stays open, every packet is dropped both ways, no FIN or RST
 * ever arrives) is noticed by the kiosk itself within 20 s with the production keepalive, and the
 * kiosk starts reconnecting. Real gateway, real kiosk agent with kiosk.json's defaults for the
 * keepalive and the heartbeat, a TCP proxy between them that blackholes the link.
 *
 * The kiosk last heard the gateway no later than the moment the proxy went dark, so the bound
 * (1.5 × keepalive after the last answer, device/link/reconnect-policy.ts) counts from there.
 */
import { describe, expect, it } from "vitest";
import { deadLinkNoticedWithinMs } from "../../device/link/reconnect-policy.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

describe("a blackholed link is noticed within 20 s", () => {
  const defer = deferCleanups();

  it("with the default keepalive and heartbeat, the kiosk gives the dead link up by itself within 20 s and tries again", async () => {
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
    // The kiosk's own keepalive gave up (the proxy passes no close on a blackholed link).
    expect(down.reason).toBe("Keepalive timeout");
    expect(noticedAfterMs).toBeLessThanOrEqual(deadLinkNoticedWithinMs(config.mqtt.keepaliveSeconds) + 1_000);
    expect(noticedAfterMs).toBeLessThanOrEqual(20_000);
    await waitFor(() => kiosk.logs.find("gateway unreachable: retrying", (l) => l.reason === "Keepalive timeout").length > 0, "a reconnect planned");
  });
});

/**
 * A kiosk whose link is cut waits longer and longer between tries while it has nothing to send (an
 * idle kiosk may back off), but once an SOS alert waits in its outbox it tries again within
 * `reconnect.urgentMaxMs`, and a press during a long wait does not sit out the rest of it. Real
 * gateway, real kiosk agent, a TCP proxy between them that resets the link and refuses connections.
 *
 * The config is the production policy scaled down (a cap of 20 s instead of 60 s, an urgent cap of
 * 1 s): the old kiosk, with no urgent policy, sits out its long wait before the alert goes.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import type { LogLine } from "../fixtures/log-capture.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

const URGENT_MAX_MS = 1_000;

describe("a kiosk with an unacknowledged alert is delivered soon after the link heals", () => {
  const defer = deferCleanups();

  it("an idle kiosk backs off; a press during its long wait reconnects at once, retries stay within the urgent cap, and the alert is delivered before the idle wait would have ended", async () => {
    const { dir, receiver, gateway } = await startSystem(defer);
    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const url = await proxy.start();
    defer(() => proxy.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, "kz-heal-0001", url, dir);
    const config = parseKioskConfig({ ...provisioned, reconnect: { minMs: 1_000, maxMs: 20_000, factor: 4, jitter: 0.2, urgentMaxMs: URGENT_MAX_MS } });
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");

    proxy.down("cut");
    const retries = (): LogLine[] => kiosk.logs.find("gateway unreachable: retrying");
    // Idle: 1 s, 4 s, then a wait of 12.8–16 s is planned.
    const longWait = await waitFor(() => retries().find((l) => (l.delayMs as number) >= 10_000), "an idle wait of 10 s or more", 20_000);
    const longWaitEndsAt = Date.parse(longWait.time as string) + (longWait.delayMs as number);
    expect(retries().every((l) => l.urgent !== true)).toBe(true);

    const retriesBeforePress = retries().length;
    kiosk.button.press();
    // The link stays cut a while longer: the kiosk keeps trying, within the urgent cap.
    await new Promise((r) => setTimeout(r, 2_500));
    proxy.heal();
    const request = await waitFor(() => receiver.requests[0], "the alert at dispatch", 25_000);
    const deliveredAt = Date.now();
    expect(request.body).toMatchObject({ kioskId: "kz-heal-0001", kind: "sos" });
    // The old kiosk reconnected only when its idle wait was over.
    expect(deliveredAt).toBeLessThan(longWaitEndsAt);
    expect(kiosk.logs.find("an alert is waiting: reconnecting now")).toHaveLength(1);
    const urgentTries = retries().slice(retriesBeforePress);
    expect(urgentTries.length).toBeGreaterThanOrEqual(2);
    for (const line of urgentTries) {
      expect(line.urgent).toBe(true);
      expect(line.delayMs as number).toBeLessThanOrEqual(URGENT_MAX_MS);
    }
    await waitFor(() => kiosk.outbox.depth === 0, "outbox emptied by the ack");
  });

  it("an alert that was sent but not acknowledged before the cut makes the retries urgent at once, and it is delivered after the heal", async () => {
    const { dir, receiver, gateway } = await startSystem(defer);
    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const url = await proxy.start();
    defer(() => proxy.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, "kz-heal-0002", url, dir);
    const config = parseKioskConfig({ ...provisioned, reconnect: { minMs: 1_000, maxMs: 20_000, factor: 4, jitter: 0.2, urgentMaxMs: URGENT_MAX_MS } });
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");

    // The press goes out, and the link dies before the ack comes back.
    proxy.cutWhen((chunk) => (chunk[0]! & 0xf0) === 0x30 && chunk.includes("/alerts"));
    kiosk.button.press();
    await waitFor(() => kiosk.logs.find("gateway unreachable: retrying").length > 0, "the link lost mid-alert");
    proxy.down("cut");
    await waitFor(() => kiosk.logs.find("gateway unreachable: retrying").length >= 5, "five tries");
    const tries = kiosk.logs.find("gateway unreachable: retrying");
    for (const line of tries) {
      expect(line.urgent).toBe(true);
      expect(line.delayMs as number).toBeLessThanOrEqual(URGENT_MAX_MS);
    }
    expect(receiver.requests).toHaveLength(0);

    proxy.heal();
    const request = await waitFor(() => receiver.requests[0], "the alert at dispatch", 10_000);
    expect(request.body).toMatchObject({ kioskId: "kz-heal-0002", kind: "sos" });
    await waitFor(() => kiosk.outbox.depth === 0, "outbox emptied by the ack");
  });
});

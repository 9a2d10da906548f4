/**
 * A connection that closes between the kiosk's SUBSCRIBE and the gateway's SUBACK is a link problem,
 * logged as one (info), and the kiosk connects again; only a subscription the broker refuses
 * (SUBACK 0x80) is logged as "gateway refused a subscription: check the kiosk's registration" (error),
 * which sends a technician to the registry. Real gateway and kiosk agent with a TCP proxy that resets
 * the connection on the kiosk's first SUBSCRIBE; a bare Aedes that refuses every subscription.
 */
import { createServer } from "node:net";
import { Aedes } from "aedes";
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { fastTimings, provisionTestKiosk, startTestKiosk, tempDir, waitFor } from "./harness.js";

const REFUSED = "gateway refused a subscription: check the kiosk's registration";
const INTERRUPTED = "connection lost before the gateway answered the subscriptions: reconnecting";
/** MQTT SUBSCRIBE's fixed header: type 8, flags 0b0010. */
const isSubscribe = (chunk: Buffer): boolean => chunk[0] === 0x82;

describe("a connection closed mid-subscribe is not called a refusal", () => {
  const defer = deferCleanups();

  it("the kiosk logs the lost connection as a link problem, not as a refusal, and connects again", async () => {
    const { dir, receiver, gateway } = await startSystem(defer);
    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const url = await proxy.start();
    defer(() => proxy.stop());
    proxy.cutWhen(isSubscribe);
    const config = await provisionTestKiosk(gateway.dataDir, "kz-sub-0001", url, dir);
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "connected on the second try");
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    expect(kiosk.logs.find(REFUSED)).toEqual([]);
    const interrupted = kiosk.logs.find(INTERRUPTED);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]).toMatchObject({ level: "info", reason: "connection lost while subscribing: Connection closed" });
    expect(kiosk.logs.lines.filter((l) => l.level === "error")).toEqual([]);
    // The link works: a press reaches dispatch.
    kiosk.button.press();
    await waitFor(() => receiver.requests[0], "the alert at dispatch");
  });

  it("a subscription the broker refuses (SUBACK 0x80) is still reported as a refusal", async () => {
    const aedes = await Aedes.createBroker({ authorizeSubscribe: (_client, _sub, done) => done(null, null) });
    const server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    defer(async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    const data = tempDir("sos-sub-");
    defer(() => data.remove());
    const port = (server.address() as { port: number }).port;
    const config = fastTimings(
      parseKioskConfig({
        version: 1,
        kioskId: "kz-sub-0002",
        location: { lat: 43.25, lon: 76.95, address: "km 12" },
        mqtt: { url: `mqtt://127.0.0.1:${port}`, username: "kz-sub-0002", password: "pw-123456" },
        dataDir: data.path,
      }),
    );
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    const refused = await waitFor(() => kiosk.logs.find(REFUSED)[0], "the refusal logged");
    expect(refused).toMatchObject({ level: "error" });
    expect(String(refused.reason)).toContain("subscription refused");
    expect(kiosk.logs.find(INTERRUPTED)).toEqual([]);
  });
});

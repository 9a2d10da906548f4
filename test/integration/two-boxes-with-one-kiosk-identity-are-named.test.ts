/**
 * A cloned SD card: two boxes connect as one kiosk, each connection closing the other, for ever.
 * Each takeover alone looks like a reconnect; the gateway names the kiosk in one warning once they
 * repeat, and counts them. Real gateway, real mqtt.js clients.
 */
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "./cleanups.js";
import { provisionTestKiosk, waitFor } from "./harness.js";

const WARNING = "kiosk connects from two places at once: each connection closes the other (a cloned SD card, or one kiosk.json on two boxes?); provision the second box as a kiosk of its own";

describe("two boxes with one kiosk's identity", () => {
  const defer = deferCleanups();

  it("are named in one warning once their connections keep taking each other over; a single reconnect is not", async () => {
    const { dir, gateway } = await startSystem(defer);
    const config = await provisionTestKiosk(gateway, "kz-clone-0001", gateway.mqttUrl, dir);
    const box = () => {
      const client = mqtt.connect(gateway.mqttUrl, { clientId: config.kioskId, username: config.kioskId, password: config.mqtt.password, protocolVersion: 4, clean: false, reconnectPeriod: 50 });
      client.on("error", () => undefined);
      defer(() => client.endAsync(true));
      return client;
    };
    const first = box();
    await waitFor(() => first.connected, "the first box connected");
    // One reconnect while the old connection is still open (a half-open link after a blip): no warning.
    const again = box();
    await waitFor(() => again.connected && gateway.logs.find("kiosk connected").length >= 2, "a second connection");
    first.end(true);
    expect(gateway.logs.find(WARNING)).toEqual([]);
    // Two live boxes: they take each other over again and again.
    box();
    const warned = await waitFor(() => gateway.logs.find(WARNING)[0], "the kiosk named", 15_000);
    expect(warned).toMatchObject({ level: "warn", kioskId: "kz-clone-0001", windowS: 60 });
    expect(Number(warned.takeovers)).toBeGreaterThanOrEqual(5);
    const takeovers = Number(/sos_kiosk_takeovers_total (\d+)/.exec((await gateway.metrics.render()).body)?.[1]);
    expect(takeovers).toBeGreaterThanOrEqual(5);
    // One warning per window, however long they fight.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(gateway.logs.find(WARNING)).toHaveLength(1);
  });
});

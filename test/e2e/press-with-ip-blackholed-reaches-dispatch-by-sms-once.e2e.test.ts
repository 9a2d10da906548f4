/**
 * End to end over the second path: a real kiosk and a real gateway, each with a real AT driver on
 * its own socat pty pair, the two simulated modems joined by a simulated network. The kiosk's MQTT
 * link goes through a TCP proxy that blackholes it; a press then reaches dispatch by SMS, the
 * centre's SMS ack lights "received", the centre is rung, and once the link heals the same alert
 * over MQTT is a duplicate, not a second incident.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { SimNetwork } from "../fixtures/sim-modem.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { deferCleanups } from "../integration/cleanups.js";
import { DISPATCH_SECRET, provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, waitFor } from "../integration/harness.js";
import { ptyModem } from "./modem-rig.js";

const KIOSK = "kz-hwy-0800";
const CENTRE_SMS = "+77010000100";
const CENTRE_VOICE = "+77172000112";
const KIOSK_SIM = "+77010000901";

describe("second path end to end", () => {
  const defer = deferCleanups();

  it("IP blackholed → press → SMS → dispatch once → SMS ack lights 'received' → centre rung → the MQTT copy after the heal is a duplicate", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const network = new SimNetwork();
    const logs = new LogCapture();
    const centre = await ptyModem(CENTRE_SMS, network, logs, defer);
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    const gateway = await startTestGateway(`${dir.path}/gw`, { dispatch: { url: receiver.url, secret: DISPATCH_SECRET } }, { smsModem: centre.modem });
    defer(() => gateway.stop());

    const proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.mqttPort });
    const proxyUrl = await proxy.start();
    defer(() => proxy.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, KIOSK, proxyUrl, dir.path);
    const config = parseKioskConfig({
      ...provisioned,
      mqtt: { ...provisioned.mqtt, keepaliveSeconds: 5 },
      fallback: { ...provisioned.fallback, afterMs: 1_000, smsNumbers: [CENTRE_SMS], voiceNumber: CENTRE_VOICE, smsRetry: { minMs: 100, maxMs: 500, factor: 2, jitter: 0 }, smsTest: { enabled: false } },
      health: { ...provisioned.health, selfTest: { ...provisioned.health.selfTest, enabled: false } },
    });
    const kioskSide = await ptyModem(KIOSK_SIM, network, logs, defer);
    const kiosk = await startTestKiosk(config, { modem: kioskSide.modem });
    defer(() => kiosk.stop());
    await kiosk.fallbackReady;
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "the kiosk connected over IP");

    // The link dies silently; the kiosk notices it at its keepalive.
    proxy.down("blackhole");
    await waitFor(() => kiosk.logs.find("gateway unreachable: retrying").length > 0, "the kiosk noticing the dead link", 20_000);
    kiosk.button.press();
    const alert = await waitFor(() => kiosk.outbox.pending()[0], "the alert in the outbox");

    // By SMS to the centre's modem, into the pipeline, to dispatch.
    await waitFor(() => receiver.requests.length === 1, "dispatch receiving the alert", 20_000);
    expect(receiver.requests[0]?.body.alertId).toBe(alert.alertId);
    expect(kioskSide.sim.sent.map((s) => s.to)).toEqual([CENTRE_SMS]);
    expect(kioskSide.sim.sent[0]?.text).toMatch(new RegExp(`^SOS1 S ${KIOSK} ${alert.alertId.replace(/-/g, "")} `));
    expect(await gateway.store.sms.arrivedBySms([alert.alertId])).toEqual(new Set([alert.alertId]));

    // The centre's SMS ack comes back: the alarm is "received" on the kiosk, the prompt says so.
    await waitFor(() => kiosk.alarm.openAlarm?.received === true, "the alarm received by SMS ack", 20_000);
    expect(centre.sim.sent.map((s) => s.to)).toEqual([KIOSK_SIM]);
    expect(kiosk.player.played).toContain("alarm-received");
    expect(kiosk.indicator.current).toEqual({ yellow: "on", green: "off" });
    // And the kiosk rang the centre's voice number.
    expect(kioskSide.sim.dialled).toEqual([CENTRE_VOICE]);
    // The alert still waits for its IP ack: the IP path keeps trying.
    expect(kiosk.outbox.get(alert.alertId)).toBeDefined();

    // The link heals: the same alert over MQTT is a duplicate, not a second incident.
    proxy.heal();
    const acked = await waitFor(() => kiosk.logs.find("alert acknowledged by gateway", (l) => l.alertId === alert.alertId)[0], "the IP ack after the heal", 45_000);
    expect(acked.duplicate).toBe(true);
    expect(kiosk.outbox.depth).toBe(0);
    expect(await gateway.store.listAlerts()).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
    expect(kioskSide.sim.sent).toHaveLength(1);
  });
});

/**
 * The scheduled SMS-path test end to end: a real kiosk and gateway, each with a real AT driver on its
 * own socat pty pair, the simulated modems joined by a simulated network.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { SimNetwork } from "../fixtures/sim-modem.js";
import { deferCleanups } from "../integration/cleanups.js";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir } from "../integration/harness.js";
import { ptyModem } from "./modem-rig.js";

const KIOSK = "kz-hwy-0810";
const CENTRE_SMS = "+77010000100";
const KIOSK_SIM = "+77010000911";

describe("the SMS-path test", () => {
  const defer = deferCleanups();

  it("the scheduled SMS-path test reaches the gateway's modem, is stored as a test alarm, and passes on the centre's SMS ack", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const network = new SimNetwork();
    const logs = new LogCapture();
    const centre = await ptyModem(CENTRE_SMS, network, logs, defer);
    const gateway = await startTestGateway(`${dir.path}/gw`, {}, { smsModem: centre.modem });
    defer(() => gateway.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path);
    const config = parseKioskConfig({
      ...provisioned,
      fallback: { ...provisioned.fallback, smsNumbers: [CENTRE_SMS], smsTest: { enabled: true, ackTimeoutMs: 15_000 } },
      health: { ...provisioned.health, selfTest: { ...provisioned.health.selfTest, enabled: false } },
    });
    const kioskSide = await ptyModem(KIOSK_SIM, network, logs, defer);
    const kiosk = await startTestKiosk(config, { modem: kioskSide.modem });
    defer(() => kiosk.stop());
    const fallback = await kiosk.fallbackReady;
    expect(await fallback?.smsTest.run()).toBe(true);
    expect(fallback?.report()).toMatchObject({ present: true, registration: "home", sim: "ready", lastTestOk: true, smsLastHour: 1 });
    const [row] = await gateway.store.listAlerts();
    expect(row).toMatchObject({ kioskId: KIOSK, kind: "test" });
    expect(kioskSide.sim.sent[0]?.text).toMatch(/^SOS1 T /);
    expect(centre.sim.sent.map((m) => m.to)).toEqual([KIOSK_SIM]);
    expect(kiosk.faults.all).not.toContain("backup-path");
    expect(kiosk.faults.all).not.toContain("sms-test");
  });
});

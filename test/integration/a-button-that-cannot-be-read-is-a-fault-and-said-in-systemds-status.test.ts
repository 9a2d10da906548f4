/**
 * Every kiosk proves its button works: a serial panel unplugged at start is the fault
 * `button:not-working` in the heartbeat (the gateway's console and `sos kiosks` show it) and on the
 * lights, and systemd's STATUS says the button is not working. The watchdog stays fed (a restart
 * cannot plug the panel back in; a restart loop would be worse). Plugged in, the fault clears and
 * STATUS says healthy again. The real agent and serial driver; fakes only at the hardware edge (a
 * mock serial binding) and at systemd's (a notifier that records what it was told).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import type { ServiceNotifier } from "../../shared/service/notify.js";
import type { Heartbeat } from "../../shared/health.js";
import { FakeSerialPanel } from "../fixtures/fake-serial-panel.js";
import { offlineKioskConfig } from "../fixtures/offline-kiosk-config.js";
import { RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { tempDir, waitFor } from "./harness.js";

class RecordingNotifier implements ServiceNotifier {
  readonly enabled = true;
  readonly sent: Record<string, string>[] = [];
  notify(fields: Readonly<Record<string, string>>): Promise<boolean> {
    this.sent.push({ ...fields });
    return Promise.resolve(true);
  }
  get status(): string | undefined {
    return this.sent.filter((m) => m.STATUS !== undefined).at(-1)?.STATUS;
  }
  get pings(): number {
    return this.sent.filter((m) => m.WATCHDOG === "1").length;
  }
}

describe("a button that cannot be read is a fault, and said in systemd's STATUS", () => {
  const dir = tempDir("sos-button-fault-");
  let kiosk: KioskHandle | undefined;
  afterAll(async () => {
    await kiosk?.stop();
    dir.remove();
  });

  it("an unplugged serial panel: button:not-working in the heartbeat, STATUS says so, the watchdog still fed; cleared once plugged in", async () => {
    const panel = new FakeSerialPanel("/dev/serial/by-id/usb-SOS_Kiosk_Panel_fault-if00");
    panel.unplug();
    const notifier = new RecordingNotifier();
    const logs = new LogCapture();
    const config = offlineKioskConfig("kz-btnf-0001", join(dir.path, "data"), { button: { driver: "serial", path: panel.path } });
    kiosk = await startKiosk(config, { log: logs.logger("kiosk"), serialBinding: panel.binding, player: new RecordingPlayer(), notifier, watchdogIntervalMs: 50 });
    await kiosk.linkReady;

    expect(kiosk.faults.current).toContain("button:not-working");
    // The heartbeat, as the link would publish it.
    const beats: Heartbeat[] = [];
    kiosk.health.attachLink((hb) => {
      beats.push(hb);
      return Promise.resolve();
    });
    kiosk.events.emit("link.up", {});
    const beat = await waitFor(() => beats[0], "a heartbeat");
    expect(beat.faults).toContain("button:not-working");

    await waitFor(() => notifier.status?.startsWith("alarm path not working: serial button not working: "), "STATUS naming the button");
    const pings = notifier.pings;
    await waitFor(() => notifier.pings >= pings + 3, "the watchdog still fed");
    expect(notifier.sent[0]?.STATUS).toMatch(/^button not working: serial button not working: /);

    panel.plugIn();
    await waitFor(() => !kiosk?.faults.current.includes("button:not-working"), "the fault cleared", 3_000);
    await waitFor(() => notifier.status === "alarm path healthy", "STATUS healthy again");
    expect(logs.find("button driver working again")).toHaveLength(1);
  });
});

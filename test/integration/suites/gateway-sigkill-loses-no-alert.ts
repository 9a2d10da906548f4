import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "../cleanups.js";
import { DispatchReceiver } from "../../fixtures/dispatch-receiver.js";
import {
  DISPATCH_SECRET,
  freePort,
  openTargetStore,
  provisionTestKiosk,
  spawnSos,
  startTestKiosk,
  tempDir,
  waitFor,
  storeArgs,
  type SosProcess,
  type StoreTarget,
  type TestKiosk,
  type TestStore,
} from "../harness.js";

const KIOSKS = 50;

interface AlertDbRow {
  alert_id: string;
  kiosk_id: string;
  delivered_at: string | null;
}

/** Reads the gateway's store from outside the gateway process (SQLite's WAL lets a reader in while it runs). */
async function readAlertRows(target: StoreTarget): Promise<AlertDbRow[]> {
  const store = await openTargetStore(target, { readonly: true });
  try {
    return (await store.listAlerts({ limit: 10_000 })).map((a) => ({ alert_id: a.alertId, kiosk_id: a.kioskId, delivered_at: a.deliveredAt }));
  } finally {
    await store.close();
  }
}

function outboxFiles(kiosk: TestKiosk): string[] {
  return readdirSync(join(kiosk.config.dataDir, "outbox")).filter((f) => f.endsWith(".alert.json"));
}

/** A gateway process killed twice mid-storm, on the store given. */
export function gatewaySigkillLosesNoAlert(store: TestStore): void {
  describe(`a gateway killed with SIGKILL while alerts are in flight loses no alert (${store.name})`, () => {
    const defer = deferCleanups();

    it("delivers all 50 alerts to dispatch after the restart, stores each once, and empties every kiosk outbox", async () => {
      const dir = tempDir();
      defer(() => dir.remove());
      const gatewayDir = join(dir.path, "gw");
      const target: StoreTarget = { dataDir: gatewayDir, storeUrl: store.url() };
      const mqttPort = await freePort();
      const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;

      const receiver = await new DispatchReceiver().start();
      defer(() => receiver.stop());

      const children: SosProcess[] = [];
      defer(async () => {
        for (const c of children) {
          if (c.child.exitCode === null && c.child.signalCode === null) {
            c.child.kill("SIGKILL");
            await c.exited;
          }
        }
      });
      const spawnGateway = (): SosProcess => {
        const gw = spawnSos(
          [
            "gateway",
            ...storeArgs(target),
            "--mqtt-host", "127.0.0.1",
            "--mqtt-port", String(mqttPort),
            "--http-port", "0",
            "--http-host", "127.0.0.1",
            "--dispatch-url", receiver.url,
          ],
          { env: { SOS_DISPATCH_SECRET: DISPATCH_SECRET } },
        );
        children.push(gw);
        return gw;
      };

      const first = spawnGateway();
      await first.waitForLog("gateway ready");

      // Provisioning writes to the store while the gateway child has it open (SQLite WAL, or PostgreSQL).
      const configs = await Promise.all(
        Array.from({ length: KIOSKS }, (_, i) => provisionTestKiosk(target, `kz-kill-${String(i).padStart(4, "0")}`, mqttUrl, dir.path)),
      );
      const kiosks: TestKiosk[] = [];
      defer(async () => {
        await Promise.all(kiosks.map((k) => k.stop()));
      });
      for (const config of configs) kiosks.push(await startTestKiosk(config));
      await waitFor(() => kiosks.every((k) => k.logs.find("connected to gateway").length > 0), "all 50 kiosks connected", 20_000);

      // Crash 1: SIGKILL the gateway the moment the first kiosk gets its ack. At that instant the
      // other alerts are unsent, or stored but not acked, or acked but not yet dispatched.
      let ackedAtKill: number | undefined;
      for (const kiosk of kiosks) {
        kiosk.events.on("alert.acked", "test-killer", () => {
          if (ackedAtKill !== undefined) return;
          first.child.kill("SIGKILL");
          ackedAtKill = kiosks.filter((k) => k.outbox.depth === 0).length;
        });
      }

      const pressed = new Map<string, string>(); // alertId -> kioskId
      for (const kiosk of kiosks) {
        kiosk.events.on("alert.recorded", "test", ({ alert }) => pressed.set(alert.alertId, kiosk.config.kioskId));
      }
      for (const kiosk of kiosks) kiosk.button.press();
      // Each press is on disk once the contact has settled (debounce).
      await waitFor(() => pressed.size === KIOSKS, "all 50 presses recorded");

      expect((await first.exited).signal).toBe("SIGKILL");
      // Killed mid-flight: alerts were still unacknowledged, and not all had reached dispatch.
      expect(ackedAtKill).toBeLessThan(KIOSKS);
      expect((await readAlertRows(target)).filter((r) => r.delivered_at !== null).length).toBeLessThan(KIOSKS);

      // Crash 2: restart on the same port and data dir, and SIGKILL it again the moment its first
      // dispatch request arrives, before it can hear the answer: that alert is sent but not recorded
      // as delivered, and the kiosks may be halfway through resending.
      let inflightIndex: number | undefined;
      const second = spawnGateway();
      receiver.respond = () => {
        if (inflightIndex === undefined) {
          second.child.kill("SIGKILL");
          inflightIndex = receiver.requests.length; // this request's index: it is pushed after respond()
        }
        return 200;
      };
      const secondExit = await second.exited;
      expect(secondExit.signal, `second gateway exited on its own: ${second.stderr.join(" | ")}`).toBe("SIGKILL");
      expect(inflightIndex).toBeDefined();
      receiver.respond = () => 200;
      const inflightId = receiver.requests[inflightIndex!]!.body.alertId;
      expect((await readAlertRows(target)).find((r) => r.alert_id === inflightId)?.delivered_at).toBeNull();

      // Recovery: a third start; the kiosks find it by reconnecting, the forwarder by its outbox.
      const third = spawnGateway();
      await third.waitForLog("gateway ready");

      await waitFor(() => [...pressed.keys()].every((id) => receiver.deliveredIds().has(id)) || undefined, "every alert delivered to dispatch", 25_000);
      await waitFor(() => kiosks.every((k) => k.outbox.depth === 0), "every kiosk outbox emptied by an ack", 15_000);
      const rows = await waitFor(async () => {
        const all = await readAlertRows(target);
        return all.length >= KIOSKS && all.every((r) => r.delivered_at !== null) ? all : undefined;
      }, "every stored alert marked delivered");

      expect(receiver.deliveredIds()).toEqual(new Set(pressed.keys()));
      for (const request of receiver.requests) {
        expect(request.body.kioskId).toBe(pressed.get(request.body.alertId));
      }
      for (const kiosk of kiosks) expect(outboxFiles(kiosk)).toEqual([]);

      expect(rows).toHaveLength(KIOSKS);
      expect(new Set(rows.map((r) => r.alert_id))).toEqual(new Set(pressed.keys()));
      for (const row of rows) {
        expect(row.kiosk_id).toBe(pressed.get(row.alert_id));
        expect(row.delivered_at).not.toBeNull();
      }

      // The alert whose dispatch was cut off by crash 2 was sent again and recorded this time.
      expect(receiver.requests.filter((r) => r.body.alertId === inflightId).length).toBeGreaterThanOrEqual(2);

      third.child.kill("SIGTERM");
      expect(await third.exited).toEqual({ code: 0, signal: null });
    });
  });
}

import { afterEach, describe, expect, it } from "vitest";
import { DispatchReceiver } from "../../fixtures/dispatch-receiver.js";
import { storeArgument } from "../../../gateway/store/open.js";
import { DISPATCH_SECRET, onStore, provisionTestKiosk, spawnSos, startTestGateway, startTestKiosk, storeArgs, tempDir, waitFor, type TestGateway, type TestKiosk, type TestStore } from "../harness.js";

/** The alarm lifecycle at the gateway (close, the kiosk told), on the store given. */
export function closingAnAlarmReturnsTheKioskToIdle(store: TestStore): void {
  describe(`closing an alarm at the gateway returns its kiosk to idle (${store.name})`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    });

    async function setUp(): Promise<{ gateway: TestGateway; kiosk: TestKiosk; receiver: DispatchReceiver; dir: string }> {
      const dir = tempDir();
      cleanups.push(() => dir.remove());
      const receiver = await new DispatchReceiver().start();
      cleanups.push(() => receiver.stop());
      const gateway = await startTestGateway(`${dir.path}/gw`, {
        ...onStore(store),
        dispatch: { url: receiver.url, secret: DISPATCH_SECRET },
        commands: { pollMs: 100, resendMs: 1_000 },
      });
      cleanups.push(() => gateway.stop());
      const config = await provisionTestKiosk(gateway, "kz-park-0042", gateway.mqttUrl, dir.path);
      const kiosk = await startTestKiosk(config);
      cleanups.push(() => kiosk.stop());
      await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
      return { gateway, kiosk, receiver, dir: dir.path };
    }

    it("yellow on at the press, 'received' spoken at the ack, and all lights off once `sos alerts close` runs", async () => {
      const { gateway, kiosk } = await setUp();
      kiosk.button.press();
      const [raised] = await waitFor(() => kiosk.indicator.shown.length > 1 && kiosk.logs.find("alert recorded"), "alert recorded");
      const alertId = String(raised?.alertId);
      expect(kiosk.indicator.current).toEqual({ yellow: "on", green: "off" });
      await waitFor(() => kiosk.player.played.includes("alarm-received"), "'alarm received' prompt");
      expect(kiosk.player.played).toEqual(["alarm-sent", "alarm-received"]);
      expect(kiosk.alarm.openAlarm?.alert.alertId).toBe(alertId);

      // The real CLI, in its own process, against the gateway's store.
      const close = spawnSos(["alerts", "close", alertId, ...storeArgs(gateway), "--outcome", "help sent", "--by", "duty officer 7"]);
      expect((await close.exited).code).toBe(0);
      expect(close.stdout.join("\n")).toContain(`closed alert ${alertId}`);

      await waitFor(() => kiosk.alarm.openAlarm === null, "kiosk's alarm closed");
      expect(kiosk.indicator.current).toEqual({ yellow: "off", green: "off" });
      const row = await gateway.store.getAlert(alertId);
      expect(row).toMatchObject({ outcome: "help sent", closedBy: "duty officer 7" });
      expect(row?.closedAt).not.toBeNull();
      // The kiosk confirmed the command, so it is not sent again.
      await waitFor(async () => (await gateway.store.pendingCommands()).length === 0, "command confirmed");
      expect(gateway.logs.find("command confirmed by kiosk", (l) => l.kioskId === "kz-park-0042")).toHaveLength(1);

      // Closing again is refused with one line; the next press is a new alarm.
      const again = spawnSos(["alerts", "close", alertId, ...storeArgs(gateway), "--outcome", "x"]);
      expect((await again.exited).code).toBe(1);
      expect(again.stderr).toEqual([`sos: alert ${alertId} is already closed: see 'sos alerts ${storeArgument({ url: gateway.storeUrl, dataDir: gateway.dataDir })} --json'`]);
      kiosk.button.press();
      await waitFor(() => kiosk.logs.find("alert recorded").length === 2, "second alarm");
      expect(kiosk.alarm.openAlarm?.alert.alertId).not.toBe(alertId);
    });

    it("a close made while the kiosk is offline reaches it when it comes back", async () => {
      const { gateway, kiosk } = await setUp();
      kiosk.button.press();
      const alertId = await waitFor(() => kiosk.alarm.openAlarm?.received && kiosk.alarm.openAlarm.alert.alertId, "alarm received");
      await kiosk.stop();

      const close = spawnSos(["alerts", "close", alertId, ...storeArgs(gateway), "--outcome", "false alarm"]);
      expect((await close.exited).code).toBe(0);
      // The kiosk restarts with its alarm still open (yellow on), then learns it was closed.
      const back = await startTestKiosk(kiosk.config);
      cleanups.push(() => back.stop());
      expect(back.indicator.shown[0]).toEqual({ yellow: "on", green: "off" });
      await waitFor(() => back.alarm.openAlarm === null, "closed after reconnect");
      expect(back.indicator.current).toEqual({ yellow: "off", green: "off" });
    });

    it("presses while the alarm is open are counted on it, stored, and dispatched only once", async () => {
      const { gateway, kiosk, receiver } = await setUp();
      kiosk.button.press();
      const alertId = await waitFor(() => kiosk.alarm.openAlarm?.received && kiosk.alarm.openAlarm.alert.alertId, "alarm received");
      await new Promise((r) => setTimeout(r, 150)); // the first press is released
      const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
      for (let i = 0; i < 4; i += 1) {
        // Each contact change outlasts the 20 ms debounce; timers fire in order, so none overlaps.
        kiosk.button.down();
        await sleep(60);
        kiosk.button.up();
        await sleep(60);
      }
      await waitFor(async () => (await gateway.store.getAlert(alertId))?.pressCount === 5, "press count 5 stored", 10_000);
      await waitFor(() => kiosk.outbox.depth === 0, "updates acknowledged");
      expect(kiosk.logs.find("alert recorded")).toHaveLength(1);
      expect(receiver.requests.map((r) => r.body.alertId)).toEqual([alertId]);
      expect(gateway.logs.find("press count updated on an open alarm").length).toBeGreaterThanOrEqual(1);
    });
  });
}

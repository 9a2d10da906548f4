import { describe, expect, it } from "vitest";
import { deferCleanups } from "../cleanups.js";
import { verifySignature } from "../../../shared/signature.js";
import { onStore, provisionTestKiosk, tempDir, waitFor, type TestStore } from "../harness.js";
import { OPS_SECRET, RawKiosk, startOpsReceiver, startSupervisedGateway, startSupervisedKiosk } from "../supervision-harness.js";

const KIOSK = "kz-sup-drop-01";

/** Supervision over the link (will, ops outbox, takeover), on the store given. */
export function kioskOfflineAtOnceWhenItsSocketDrops(store: TestStore): void {
  describe(`a kiosk is offline at once when its socket drops (${store.name})`, () => {
    const defer = deferCleanups();

    it("never-seen → online when it connects and beats; its link dying → offline within 2 s (reason connection-lost), stored and sent to operations signed", async () => {
      const { ops, gateway, kiosk } = await startSupervisedKiosk(defer, KIOSK, store);

      kiosk.startBeating(10);
      await waitFor(() => gateway.supervision.supervisor.get(KIOSK)?.state === "online", "kiosk online");

      const droppedAt = Date.now();
      kiosk.dropSocket();
      await waitFor(() => gateway.supervision.supervisor.get(KIOSK)?.state === "offline", "kiosk offline", 2_000);
      const detectedMs = Date.now() - droppedAt;
      expect(detectedMs).toBeLessThanOrEqual(2_000);
      expect(gateway.supervision.supervisor.get(KIOSK)).toMatchObject({ reason: "connection-lost", components: [] });

      const offline = await waitFor(() => ops.requests.find((r) => r.body.state === "offline"), "the offline event at the ops webhook");
      expect(offline.body).toMatchObject({ type: "transition", kioskId: KIOSK, previousState: "online", reason: "connection-lost", reminder: 0, address: `Test road km ${KIOSK}` });
      expect(Date.parse(offline.body.at) - droppedAt).toBeLessThanOrEqual(2_000);
      expect(verifySignature(offline.raw, OPS_SECRET, offline.headers["x-sos-signature"] as string)).toBe(true);
      expect(verifySignature(offline.raw, "test-dispatch-secret-0123456789", offline.headers["x-sos-signature"] as string)).toBe(false);
      expect(offline.headers["idempotency-key"]).toBe(offline.body.eventId);
      expect(offline.headers["x-sos-attempt"]).toBe("1");
      expect(ops.requests.map((r) => `${r.body.previousState}>${r.body.state}`)).toEqual(["never-seen>online", "online>offline"]);
      expect(ops.invalid).toEqual([]);

      const stored = await gateway.store.health.transitions(KIOSK, 10);
      expect(stored.map((t) => [t.from, t.to, t.reason])).toEqual([
        ["online", "offline", "connection-lost"],
        ["never-seen", "online", "connected"],
      ]);
      await waitFor(async () => (await gateway.store.health.pendingOpsCount()) === 0, "ops outbox delivered");
    });

    it("an ops webhook that fails is retried with the same event, body and signature until it answers", async () => {
      const dir = tempDir();
      defer(() => dir.remove());
      const ops = await startOpsReceiver();
      defer(() => ops.stop());
      ops.respond = (n) => (n <= 3 ? 503 : 200);
      const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops, onStore(store));
      defer(() => gateway.stop());
      const kiosk = await RawKiosk.connect(gateway, KIOSK, dir.path);
      defer(() => kiosk.end());
      await kiosk.beat();

      await waitFor(() => ops.requests.some((r) => r.status === 200), "delivered after three 503s");
      expect(ops.requests.map((r) => [r.status, r.headers["x-sos-attempt"]])).toEqual([
        [503, "1"],
        [503, "2"],
        [503, "3"],
        [200, "4"],
      ]);
      expect(new Set(ops.requests.map((r) => r.raw)).size).toBe(1);
      expect(new Set(ops.requests.map((r) => r.headers["idempotency-key"])).size).toBe(1);
      // The receiver answered before the gateway recorded it: wait for the record.
      await waitFor(() => gateway.logs.find("ops event delivered").length === 1, "the delivery recorded");
      expect(await gateway.store.health.listOps(5)).toMatchObject([{ attempts: 4, lastError: null }]);
    });

    it("a reconnect that takes over the kiosk's half-open old connection keeps it online: no offline, no ops event", async () => {
      const dir = tempDir();
      defer(() => dir.remove());
      const ops = await startOpsReceiver();
      defer(() => ops.stop());
      const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops, onStore(store));
      defer(() => gateway.stop());
      const config = await provisionTestKiosk(gateway, KIOSK, gateway.mqttUrl, dir.path);
      const password = config.mqtt.password ?? "";
      // The old connection, as after a cellular address change: still open at the gateway, never ended.
      const old = await RawKiosk.connectAs(gateway, KIOSK, password, { reconnectPeriod: 0 });
      defer(() => old.end());
      await waitFor(() => gateway.supervision.supervisor.get(KIOSK)?.state === "online", "kiosk online");

      const fresh = await RawKiosk.connectAs(gateway, KIOSK, password);
      defer(() => fresh.end());
      await waitFor(() => gateway.logs.find("kiosk's old connection closed: it has already connected again").length > 0, "the old connection taken over");
      await fresh.beat();
      await waitFor(() => ops.requests.length >= 1 && gateway.logs.find("kiosk connected").length === 2, "the new connection ready");
      await waitFor(async () => (await gateway.store.health.pendingOpsCount()) === 0, "ops outbox delivered");

      expect(gateway.supervision.supervisor.get(KIOSK)).toMatchObject({ state: "online" });
      expect((await gateway.store.health.transitions(KIOSK, 10)).map((t) => `${t.from}>${t.to}`)).toEqual(["never-seen>online"]);
      expect(ops.requests.map((r) => `${r.body.previousState}>${r.body.state}`)).toEqual(["never-seen>online"]);
      // The new connection is the live one: dropping it is the kiosk going away.
      fresh.dropSocket();
      await waitFor(() => gateway.supervision.supervisor.get(KIOSK)?.state === "offline", "offline once the live connection drops", 2_000);
    });
  });
}

import { describe, expect, it } from "vitest";
import { deferCleanups } from "../cleanups.js";
import { verifySignature } from "../../../shared/signature.js";
import { onStore, tempDir, waitFor, type TestStore } from "../harness.js";
import { OPS_SECRET, RawKiosk, startOpsReceiver, startSupervisedGateway } from "../supervision-harness.js";

const KIOSK = "kz-sup-silent-01";

/** Supervision: silence is offline, reminders, back online; on the store given. */
export function offlineAfterTwoMissedHeartbeats(store: TestStore): void {
  describe(`a kiosk that keeps its socket but stops sending heartbeats (${store.name})`, () => {
    const defer = deferCleanups();

    it("is offline after two missed heartbeats (2 × intervalS + grace), reminded while offline, and online again with no more reminders once it beats", async () => {
      const dir = tempDir();
      defer(() => dir.remove());
      const ops = await startOpsReceiver();
      defer(() => ops.stop());
      const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops, { ...onStore(store), supervision: { missedBeats: 2, graceMs: 500, offlineReminderMs: 1_000 } });
      defer(() => gateway.stop());
      const kiosk = await RawKiosk.connect(gateway, KIOSK, dir.path);
      defer(() => kiosk.end());
      const state = (): string | undefined => gateway.supervision.supervisor.get(KIOSK)?.state;

      kiosk.startBeating(1);
      await waitFor(() => state() === "online", "online");
      await new Promise((r) => setTimeout(r, 2_500)); // beating for a while: still online
      expect(state()).toBe("online");

      kiosk.stopBeating();
      const lastBeatAt = kiosk.lastBeatAt;
      await waitFor(() => state() === "offline", "offline after the missed heartbeats", 5_000);
      const detectedMs = Date.now() - lastBeatAt;
      // 2 × 1 s + 0.5 s after the last heartbeat; the wait's 20 ms poll adds a little.
      expect(detectedMs).toBeGreaterThanOrEqual(2_450);
      expect(detectedMs).toBeLessThan(3_500);
      expect(gateway.supervision.supervisor.get(KIOSK)).toMatchObject({ reason: "heartbeats-missed" });
      expect(kiosk.client.connected).toBe(true); // the socket is still open: only heartbeats tell

      await waitFor(() => ops.requests.filter((r) => r.body.type === "reminder").length >= 2, "two reminders", 5_000);
      const reminders = ops.requests.filter((r) => r.body.type === "reminder").map((r) => r.body);
      expect(reminders.slice(0, 2).map((e) => [e.state, e.reminder, e.reason])).toEqual([
        ["offline", 1, "heartbeats-missed"],
        ["offline", 2, "heartbeats-missed"],
      ]);
      const gap = Date.parse(reminders[1]?.at ?? "") - Date.parse(reminders[0]?.at ?? "");
      expect(gap).toBeGreaterThanOrEqual(900);
      expect(gap).toBeLessThan(1_500);

      kiosk.startBeating(1);
      await waitFor(() => state() === "online", "online again");
      const back = await waitFor(() => ops.requests.find((r) => r.body.type === "transition" && r.body.previousState === "offline"), "the return at the ops webhook");
      expect(back.body).toMatchObject({ state: "online", reason: "heartbeat" });
      expect(verifySignature(back.raw, OPS_SECRET, back.headers["x-sos-signature"] as string)).toBe(true);
      await new Promise((r) => setTimeout(r, 2_500));
      // No reminder was raised after the return (one raised just before may arrive after it: ops sends 4 at a time).
      const late = ops.requests.filter((r) => r.body.type === "reminder" && Date.parse(r.body.at) > Date.parse(back.body.at));
      expect(late).toEqual([]);
      expect(gateway.supervision.supervisor.get(KIOSK)?.reminders).toBe(0);
      expect(state()).toBe("online");
      expect(ops.requests.filter((r) => r.body.type === "transition").map((r) => `${r.body.previousState}>${r.body.state}:${r.body.reason}`)).toEqual([
        "never-seen>online:connected",
        "online>offline:heartbeats-missed",
        "offline>online:heartbeat",
      ]);
    });
  });
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlarmController } from "../../device/alarm/alarm-controller.js";
import { OpenAlarmFile } from "../../device/alarm/open-alarm.js";
import { CallManager, RING_FOR_MS, RING_INTERVAL_MS } from "../../device/call/call-manager.js";
import { SNAPSHOT_TIMEOUT_MS } from "../../device/call/snapshot.js";
import type { KioskEvents } from "../../device/events.js";
import { Outbox } from "../../device/link/outbox.js";
import { systemClock } from "../../shared/clock.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { EventBus } from "../../shared/events.js";
import { type CallRig, FakeLink, ICE, JPEG, KIOSK, alertFor, createCallRig } from "../fixtures/call-rig.js";
import type { FakeMedia } from "../fixtures/fake-media.js";
import type { RecordingPlayer } from "../fixtures/fake-indicator.js";
import type { LogCapture } from "../fixtures/log-capture.js";

describe("CallManager: snapshot and ring", () => {
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let media: FakeMedia;
  let link: FakeLink;
  let player: RecordingPlayer;
  let manager: CallManager;
  let raise: CallRig["raise"];

  beforeEach(async () => {
    vi.useFakeTimers({ now: new Date("2025-01-02T03:00:00.000Z") });
    ({ logs, bus, media, link, player, manager, raise } = await createCallRig());
  });

  afterEach(async () => {
    await manager.stop();
    vi.useRealTimers();
  });

  it("publishes the snapshot, then the ring {callId, alertId}, after the alarm is raised", async () => {
    media.snapshotResult = JPEG;
    bus.emit("alarm.raised", { alert: alertFor("alert-0001") });
    // Nothing happens inside the raise itself: the alert goes first.
    expect(media.of("snapshot")).toHaveLength(0);
    expect(link.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(link.kinds).toEqual(["snapshot", "ring"]);
    const [snap] = link.sent;
    expect(snap?.msg).toMatchObject({ v: 1, alertId: "alert-0001", contentType: "image/jpeg", data: JPEG.toString("base64") });
    const [ring] = link.up("ring");
    expect(ring).toMatchObject({ v: 1, type: "ring", alertId: "alert-0001", at: "2025-01-02T03:00:00.000Z" });
    expect(ring?.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(manager.status).toMatchObject({ phase: "ringing", callId: ring?.callId, alertId: "alert-0001" });
  });

  it("never takes the snapshot before the alert is recorded and handed to delivery", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sos-calls-"));
    try {
      const config = parseKioskConfig({ version: 1, kioskId: KIOSK, location: alertFor("x").location, mqtt: { url: "mqtt://gw:1883", username: KIOSK, password: "pw-123456" }, dataDir });
      const outbox = new Outbox(dataDir, logs.logger("outbox"));
      outbox.open();
      const alarm = new AlarmController(config, { outbox, stateFile: new OpenAlarmFile(dataDir, logs.logger("state")), bus, clock: systemClock, log: logs.logger("alarm"), sensors: () => ({}) });
      const submitted: string[] = [];
      alarm.submit = (alert) => submitted.push(alert.alertId);
      const seenAtSnapshot: { onDisk: boolean; submitted: number }[] = [];
      media.snapshotResult = JPEG;
      media.onSnapshot = () => seenAtSnapshot.push({ onDisk: outbox.pending().length === 1, submitted: submitted.length });

      const alert = alarm.raise("sos", "manual");
      expect(submitted).toEqual([alert.alertId]);
      expect(media.of("snapshot")).toHaveLength(0);
      // The raise's listeners run in the check phase after it, and the call's work in the one after
      // that (each a setImmediate): fake timers run an immediate set by an immediate once time moves on.
      await vi.advanceTimersByTimeAsync(1);
      expect(seenAtSnapshot).toEqual([{ onDisk: true, submitted: 1 }]);
      expect(link.kinds).toEqual(["snapshot", "ring"]);
      expect(link.up("ring")[0]?.alertId).toBe(alert.alertId);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("rings without a snapshot when the camera has none, fails, or does not answer in time", async () => {
    media.snapshotResult = null;
    await raise("alert-0001");
    expect(link.kinds).toEqual(["ring"]);

    media.snapshotResult = new Error("camera busy");
    await raise("alert-0002");
    expect(link.kinds.filter((k) => k === "snapshot")).toHaveLength(0);

    media.snapshotResult = "hang";
    bus.emit("alarm.raised", { alert: alertFor("alert-0003") });
    await vi.advanceTimersByTimeAsync(SNAPSHOT_TIMEOUT_MS - 1);
    expect(link.up("ring").filter((r) => r.alertId === "alert-0003")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.up("ring").filter((r) => r.alertId === "alert-0003")).toHaveLength(1);
    expect(logs.find("no snapshot: the camera did not answer in time")).toHaveLength(1);
  });

  it("skips a snapshot too large for the contract", async () => {
    media.snapshotResult = Buffer.alloc(200_000, 1);
    await raise();
    expect(link.kinds).toEqual(["ring"]);
    expect(logs.find("no snapshot: the picture is too large for the contract")).toHaveLength(1);
  });

  it("repeats the ring every few seconds while unanswered, with the same callId, up to the limit", async () => {
    const callId = await raise();
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 3);
    expect(link.up("ring")).toHaveLength(4);
    expect(new Set(link.up("ring").map((r) => r.callId))).toEqual(new Set([callId]));
    await vi.advanceTimersByTimeAsync(RING_FOR_MS);
    const total = link.up("ring").length;
    expect(total).toBe(RING_FOR_MS / RING_INTERVAL_MS);
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 10);
    expect(link.up("ring")).toHaveLength(total);
    expect(logs.find("nobody answered the ring: no longer repeated (the call can still be accepted)")).toHaveLength(1);
    // Past the limit the call can still be taken.
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    expect(media.of("startCall")).toEqual([{ method: "startCall", callId, iceServers: ICE }]);
  });

  it("stops ringing once accepted", async () => {
    const callId = await raise();
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 4);
    expect(link.up("ring")).toHaveLength(1);
  });

  it("withdraws the ring when the alarm is closed", async () => {
    const callId = await raise();
    bus.emit("alarm.closed", { alertId: "alert-0001", outcome: "help sent" });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 4);
    expect(link.kinds).toEqual(["ring", "hangup"]);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId, reason: "alarm closed" }]);
    expect(manager.status.phase).toBe("idle");
    // The withdrawn ring cannot be taken.
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    expect(media.of("startCall")).toHaveLength(0);
    expect(link.up("hangup").at(-1)).toEqual({ v: 1, type: "hangup", callId, reason: "no such call" });
  });

  it("a new alarm (bypass) replaces the ring of the old one under a new callId", async () => {
    const first = await raise("alert-0001");
    const second = await raise("alert-0002");
    expect(second).not.toBe(first);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId: first, reason: "superseded by a new alarm" }]);
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS);
    expect(link.up("ring").at(-1)).toMatchObject({ callId: second, alertId: "alert-0002" });
  });

  it("while the link is down, keeps the snapshot and rings when it comes back, snapshot first", async () => {
    link.isUp = false;
    media.snapshotResult = JPEG;
    bus.emit("alarm.raised", { alert: alertFor("alert-0001") });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 2);
    expect(link.sent).toHaveLength(0);
    link.isUp = true;
    manager.onLinkUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.kinds).toEqual(["snapshot", "ring"]);
    manager.onLinkUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.kinds).toEqual(["snapshot", "ring", "ring"]); // the snapshot is sent once
  });

  it("rings for an alarm still open from before a restart once the link is up", async () => {
    const other = new CallManager({ bus: new EventBus<KioskEvents>(logs.logger("bus2")), player, clock: systemClock, log: logs.logger("calls2"), iceServers: [] });
    const otherLink = new FakeLink();
    other.resume("alert-0009");
    other.attachLink(otherLink);
    expect(otherLink.sent).toHaveLength(0);
    other.onLinkUp();
    expect(otherLink.up("ring")).toMatchObject([{ alertId: "alert-0009" }]);
    await other.stop();
  });

  it("logs a publish that fails and goes on ringing", async () => {
    link.reject = true;
    bus.emit("alarm.raised", { alert: alertFor("alert-0001") });
    await vi.advanceTimersByTimeAsync(0);
    expect(logs.find("call message not sent", (l) => l.type === "ring")).toHaveLength(1);
    link.reject = false;
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS);
    expect(link.up("ring")).toHaveLength(1);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CONNECT_TIMEOUT_MS, CallManager, RING_INTERVAL_MS } from "../../device/call/call-manager.js";
import type { KioskEvents } from "../../device/events.js";
import { NO_MEDIA_REASON, NullMedia } from "../../device/media/none.js";
import { systemClock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import { ANSWER_SDP, type CallRig, FakeLink, ICE, alertFor, createCallRig } from "../fixtures/call-rig.js";
import type { FakeMedia } from "../fixtures/fake-media.js";
import type { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import type { LogCapture } from "../fixtures/log-capture.js";

describe("CallManager: a call", () => {
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let media: FakeMedia;
  let link: FakeLink;
  let player: RecordingPlayer;
  let indicator: RecordingIndicator;
  let manager: CallManager;
  let ended: KioskEvents["call.ended"][];
  let connected: KioskEvents["call.connected"][];
  let raise: CallRig["raise"];
  let connectedCall: CallRig["connectedCall"];

  beforeEach(async () => {
    vi.useFakeTimers({ now: new Date("2025-01-02T03:00:00.000Z") });
    ({ logs, bus, media, link, player, indicator, manager, ended, connected, raise, connectedCall } = await createCallRig());
  });

  afterEach(async () => {
    await manager.stop();
    vi.useRealTimers();
  });

  it("accept → 'connecting' prompt, state connecting, startCall with the ICE servers; offer and local ICE go up", async () => {
    const callId = await raise();
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    expect(player.played).toContain("connecting");
    expect(media.of("startCall")).toEqual([{ method: "startCall", callId, iceServers: ICE }]);
    media.offer(callId, "v=0 offer");
    media.ice(callId);
    await vi.advanceTimersByTimeAsync(0);
    expect(link.kinds).toEqual(["ring", "state:connecting", "offer", "ice"]);
    expect(link.up("offer")).toEqual([{ v: 1, type: "offer", callId, sdp: "v=0 offer", operator: "op-7" }]);
    expect(link.up("ice")[0]?.candidate.candidate).toContain("typ host");
    expect(manager.status).toMatchObject({ phase: "active", callId, connected: false });
  });

  it("remote answer and ICE go to the media; connected → state connected, call.connected, green light", async () => {
    const callId = await raise();
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    const candidate = { candidate: "candidate:2 1 udp 1 198.51.100.7 3478 typ srflx", sdpMid: "0", sdpMLineIndex: 0 };
    manager.onCallDown({ v: 1, type: "answer", callId, sdp: ANSWER_SDP });
    manager.onCallDown({ v: 1, type: "ice", callId, candidate });
    expect(media.of("acceptAnswer")).toEqual([{ method: "acceptAnswer", callId, sdp: ANSWER_SDP }]);
    expect(media.of("addRemoteIce")).toEqual([{ method: "addRemoteIce", callId, candidate }]);
    expect(indicator.current).toEqual({ yellow: "on", green: "off" });
    media.state(callId, "connected");
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "connected" });
    expect(connected).toEqual([{ alertId: "alert-0001", callId }]);
    expect(indicator.current).toEqual({ yellow: "on", green: "on" });
    // A connected call is not timed out.
    await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT_MS * 2);
    expect(manager.status).toMatchObject({ phase: "active", connected: true });
  });

  it("the link back during a connected call says the call is still connected (its media went on without MQTT); a call not yet connected says nothing", async () => {
    const callId = await connectedCall();
    const before = link.up("state").length;
    manager.onLinkUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("state").slice(before)).toEqual([{ v: 1, type: "state", callId, state: "connected", operator: "op-7", alertId: "alert-0001" }]);
    manager.onCallDown({ v: 1, type: "hangup", callId, reason: "done" });
    await vi.advanceTimersByTimeAsync(0);
    const after = link.up("state").length;
    manager.onLinkUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("state").slice(after)).toEqual([]);
  });

  it("ignores a second accept or answer for the call, and messages for other calls", async () => {
    const callId = await connectedCall();
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-8" });
    manager.onCallDown({ v: 1, type: "answer", callId, sdp: ANSWER_SDP });
    manager.onCallDown({ v: 1, type: "answer", callId: "other-call-1", sdp: ANSWER_SDP });
    manager.onCallDown({ v: 1, type: "ice", callId: "other-call-1", candidate: { candidate: "x" } });
    media.offer("other-call-1");
    media.state("other-call-1", "failed", "whatever");
    await vi.advanceTimersByTimeAsync(0);
    expect(media.of("startCall")).toHaveLength(1);
    expect(media.of("acceptAnswer")).toHaveLength(1);
    expect(media.of("addRemoteIce")).toHaveLength(0);
    expect(link.kinds).toEqual(["ring", "state:connecting", "offer", "state:connected"]);
    expect(logs.find("call already accepted: accept ignored", (l) => l.answeredBy === "op-7")).toHaveLength(1);
  });

  it("is busy for an accept of another callId while one is active", async () => {
    const callId = await connectedCall();
    manager.onCallDown({ v: 1, type: "accept", callId: "someone-elses-call", operator: "op-8" });
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId: "someone-elses-call", reason: "busy" }]);
    expect(media.of("startCall")).toHaveLength(1);
    expect(manager.status).toMatchObject({ phase: "active", callId, connected: true });
  });

  it("refuses an accept for a call that is not ringing", async () => {
    manager.onCallDown({ v: 1, type: "accept", callId: "stale-call-01", operator: "op-7" });
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId: "stale-call-01", reason: "no such call" }]);
    expect(media.of("startCall")).toHaveLength(0);
    expect(player.played).not.toContain("connecting");
  });

  it("operator hangup → media.hangup, state ended, call.ended, green off; no new ring", async () => {
    const callId = await connectedCall();
    manager.onCallDown({ v: 1, type: "hangup", callId, reason: "done" });
    await vi.advanceTimersByTimeAsync(0);
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId }]);
    expect(link.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "ended", reason: "operator hung up: done" });
    expect(ended).toEqual([{ alertId: "alert-0001", callId, reason: "operator hung up: done" }]);
    expect(indicator.current).toEqual({ yellow: "on", green: "off" });
    // The media's own "ended" afterwards changes nothing.
    media.state(callId, "ended");
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 3);
    expect(ended).toHaveLength(1);
    expect(link.up("ring")).toHaveLength(1);
    expect(manager.status.phase).toBe("idle");
  });

  it("an operator hangup of a ring (a dismissed call) keeps ringing for the others", async () => {
    const callId = await raise();
    manager.onCallDown({ v: 1, type: "hangup", callId, reason: "declined" });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS);
    expect(link.up("ring")).toHaveLength(2);
    expect(manager.status.phase).toBe("ringing");
  });

  it("the alarm closed during a call hangs up with reason 'alarm closed'", async () => {
    const callId = await connectedCall();
    bus.emit("alarm.closed", { alertId: "alert-0001", outcome: "help sent" });
    await vi.advanceTimersByTimeAsync(0);
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId }]);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId, reason: "alarm closed" }]);
    expect(link.up("state").at(-1)).toMatchObject({ callId, state: "ended", reason: "alarm closed" });
    expect(ended).toEqual([{ alertId: "alert-0001", callId, reason: "alarm closed" }]);
    expect(indicator.current).toEqual({ yellow: "off", green: "off" });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 3);
    expect(link.up("ring")).toHaveLength(1);
  });

  it("a call the media reports failed (no media for 10 s) ends with its reason, and the kiosk rings again", async () => {
    const callId = await connectedCall();
    media.state(callId, "failed", "no media for 10 s");
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "failed", reason: "no media for 10 s" });
    expect(ended).toEqual([{ alertId: "alert-0001", callId, reason: "no media for 10 s" }]);
    expect(indicator.current).toEqual({ yellow: "on", green: "off" });
    const again = link.up("ring").at(-1);
    expect(again).toMatchObject({ alertId: "alert-0001" });
    expect(again?.callId).not.toBe(callId);
    manager.onCallDown({ v: 1, type: "accept", callId: again?.callId ?? "", operator: "op-7" });
    expect(media.of("startCall").map((c) => c.callId)).toEqual([callId, again?.callId]);
  });

  it("a call never connected is hung up and reported failed after the connect timeout", async () => {
    const callId = await raise();
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT_MS - 1);
    expect(manager.status.phase).toBe("active");
    await vi.advanceTimersByTimeAsync(1);
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId }]);
    expect(link.up("state").at(-1)).toMatchObject({ callId, state: "failed", reason: `not connected within ${CONNECT_TIMEOUT_MS / 1_000} s` });
    expect(ended).toHaveLength(1);
  });

  it("media lost → the call is reported failed; not callable until ready; then a new ring that can be taken", async () => {
    const callId = await connectedCall();
    media.lose("media process exited (SIGSEGV)");
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "failed", reason: "media lost: media process exited (SIGSEGV)" });
    expect(ended).toHaveLength(1);
    expect(indicator.current).toEqual({ yellow: "on", green: "off" });
    expect(manager.status).toMatchObject({ phase: "idle", mediaReady: false });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 2);
    expect(link.up("ring")).toHaveLength(1); // no ring while the media is down

    media.ready();
    await vi.advanceTimersByTimeAsync(0);
    const again = link.up("ring").at(-1);
    expect(link.up("ring")).toHaveLength(2);
    expect(again?.callId).not.toBe(callId);
    manager.onCallDown({ v: 1, type: "accept", callId: again?.callId ?? "", operator: "op-7" });
    media.state(again?.callId ?? "", "connected");
    await vi.advanceTimersByTimeAsync(0);
    expect(connected.map((c) => c.callId)).toEqual([callId, again?.callId]);
  });

  it("media whose process died reports the call failed, then lost, in one go: no ring until it is ready", async () => {
    const callId = await connectedCall();
    media.state(callId, "failed", "media process lost");
    media.lose("media process exited (code null, signal SIGSEGV)");
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 2);
    expect(link.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "failed", reason: "media process lost" });
    expect(ended).toHaveLength(1);
    expect(link.up("ring")).toHaveLength(1);
    media.ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("ring")).toHaveLength(2);
    expect(link.up("ring")[1]?.callId).not.toBe(callId);
  });

  it("an accept while the media is down fails at once, and the kiosk rings again when it is ready", async () => {
    const callId = await raise();
    media.lose("restarting");
    manager.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    await vi.advanceTimersByTimeAsync(0);
    expect(media.of("startCall")).toHaveLength(0);
    expect(link.up("state")).toMatchObject([{ callId, state: "failed" }]);
    expect(ended).toHaveLength(0); // the call never began on the kiosk
    media.ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.up("ring")).toHaveLength(2);
    expect(link.up("ring")[1]?.callId).not.toBe(callId);
  });

  it("with no media on the kiosk, an accepted call fails with the reason", async () => {
    const none = new NullMedia();
    const other = new CallManager({ bus, player, clock: systemClock, log: logs.logger("calls2"), iceServers: [] });
    const otherLink = new FakeLink();
    await manager.stop();
    other.attachLink(otherLink);
    other.attachMedia(none);
    await none.start();
    expect(await none.snapshot()).toBeNull();
    bus.emit("alarm.raised", { alert: alertFor("alert-0001") });
    await vi.advanceTimersByTimeAsync(0);
    const callId = otherLink.up("ring")[0]?.callId ?? "";
    other.onCallDown({ v: 1, type: "accept", callId, operator: "op-7" });
    await vi.advanceTimersByTimeAsync(0);
    expect(otherLink.kinds.slice(0, 3)).toEqual(["ring", "state:connecting", "state:failed"]);
    expect(otherLink.up("state").at(-1)).toEqual({ v: 1, type: "state", callId, state: "failed", reason: NO_MEDIA_REASON });
    await other.stop();
  });

  it("stop() hangs up the call and stops ringing", async () => {
    const callId = await connectedCall();
    await manager.stop();
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId }]);
    expect(link.up("hangup")).toEqual([{ v: 1, type: "hangup", callId, reason: "kiosk shutting down" }]);
    bus.emit("alarm.raised", { alert: alertFor("alert-0002") });
    await vi.advanceTimersByTimeAsync(RING_INTERVAL_MS * 3);
    expect(link.up("ring")).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

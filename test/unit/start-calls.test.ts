import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startCalls } from "../../device/call/start-calls.js";
import type { KioskEvents } from "../../device/events.js";
import { systemClock } from "../../shared/clock.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { EventBus } from "../../shared/events.js";
import { RecordingPlayer } from "../fixtures/fake-indicator.js";
import { FakeMedia } from "../fixtures/fake-media.js";
import { LogCapture } from "../fixtures/log-capture.js";

const config = parseKioskConfig({
  version: 1,
  kioskId: "kz-hwy-0001",
  location: { lat: 43.25, lon: 76.95, address: "km 12" },
  mqtt: { url: "mqtt://gw:1883", username: "kz-hwy-0001", password: "pw-123456" },
  media: { driver: "wrtc", iceServers: [{ urls: "stun:stun.example.org" }] },
});

/** A media session whose start and stop the test controls. */
class SlowMedia extends FakeMedia {
  startResult: "hang" | Error | "ok" = "ok";
  stopHangs = false;

  override start(): Promise<void> {
    void super.start();
    if (this.startResult === "hang") return new Promise(() => undefined);
    if (this.startResult instanceof Error) return Promise.reject(this.startResult);
    return Promise.resolve();
  }

  override stop(): Promise<void> {
    void super.stop();
    return this.stopHangs ? new Promise(() => undefined) : Promise.resolve();
  }
}

describe("startCalls", () => {
  let logs: LogCapture;
  let media: SlowMedia;

  beforeEach(() => {
    vi.useFakeTimers();
    logs = new LogCapture();
    media = new SlowMedia();
  });
  afterEach(() => vi.useRealTimers());

  const make = (openAlertId: string | null = null) =>
    startCalls(config, { bus: new EventBus<KioskEvents>(logs.logger("bus")), player: new RecordingPlayer(), clock: systemClock, log: logs.logger("kiosk"), media, openAlertId });

  it("starts the media only once the link module is loaded, and never holds anything up", async () => {
    const calls = make();
    let loaded!: () => void;
    calls.startMedia(new Promise<void>((r) => (loaded = r)));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(media.of("start")).toHaveLength(0);
    loaded();
    await vi.advanceTimersByTimeAsync(0);
    expect(media.of("start")).toHaveLength(1);
    expect(calls.manager.status.mediaReady).toBe(true);
    await calls.stop();
    expect(media.of("stop")).toHaveLength(1);
  });

  it("a media that fails to start is logged; the call manager is still there", async () => {
    media.startResult = new Error("no /dev/video0");
    media.readyOnStart = false;
    const calls = make();
    calls.startMedia(Promise.resolve());
    await vi.advanceTimersByTimeAsync(0);
    expect(logs.find("media failed to start: calls are unavailable, alarms are not affected")).toHaveLength(1);
    expect(calls.manager.status).toMatchObject({ phase: "idle", mediaReady: false });
    await calls.stop();
    expect(media.of("stop")).toHaveLength(1);
  });

  it("stop() is bounded when the media never finishes starting or stopping", async () => {
    media.startResult = "hang";
    media.stopHangs = true;
    const calls = make();
    calls.startMedia(Promise.resolve());
    await vi.advanceTimersByTimeAsync(0);
    let done = false;
    void calls.stop().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(done).toBe(true);
    expect(media.of("stop")).toHaveLength(1);
    expect(logs.find("media did not stop in time: leaving it")).toHaveLength(1);
  });

  it("a media asked to stop before it was created is never started", async () => {
    const calls = make();
    let loaded!: () => void;
    calls.startMedia(new Promise<void>((r) => (loaded = r)));
    const stopping = calls.stop();
    loaded();
    await vi.advanceTimersByTimeAsync(0);
    await stopping;
    expect(media.calls).toEqual([]);
  });

  it("rings for an alarm still open from before the restart", () => {
    const calls = make("alert-0009");
    expect(calls.manager.status).toMatchObject({ phase: "ringing", alertId: "alert-0009" });
  });
});

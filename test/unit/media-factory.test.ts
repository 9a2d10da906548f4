import { describe, expect, it } from "vitest";
import { createMedia, type WrtcMediaModule } from "../../device/media/factory.js";
import type { MediaEvents } from "../../device/media/media.js";
import { NO_MEDIA_REASON, NullMedia } from "../../device/media/none.js";
import { parseKioskConfig, type WrtcMediaConfig } from "../../shared/config/kiosk.js";
import { FakeMedia } from "../fixtures/fake-media.js";
import { LogCapture } from "../fixtures/log-capture.js";

/** Stands in for ./wrtc/wrtc-media.js, counting loads and what it was built with. */
function fakeWrtcModule() {
  const seen = { loads: 0, constructed: [] as WrtcMediaConfig[] };
  class WrtcMedia extends FakeMedia {
    constructor(config: WrtcMediaConfig) {
      super();
      seen.constructed.push(config);
    }
  }
  const load = (): Promise<WrtcMediaModule> => {
    seen.loads += 1;
    return Promise.resolve({ WrtcMedia });
  };
  return { seen, load };
}

const base = { version: 1, kioskId: "kz-hwy-0001", location: { lat: 43.25, lon: 76.95, address: "km 12" }, mqtt: { url: "mqtt://gw:1883", username: "kz-hwy-0001", password: "pw-123456" } };

describe("createMedia", () => {
  it("gives NullMedia for driver none, without loading the wrtc module", async () => {
    const wrtc = fakeWrtcModule();
    const media = await createMedia(parseKioskConfig(base).media, new LogCapture().logger("media"), { loadWrtc: wrtc.load });
    expect(media).toBeInstanceOf(NullMedia);
    expect(wrtc.seen.loads).toBe(0);
  });

  it("loads WrtcMedia for driver wrtc and hands it the media config", async () => {
    const config = parseKioskConfig({ ...base, media: { driver: "wrtc", capture: "test", iceServers: [{ urls: "stun:stun.example.org" }] } });
    const wrtc = fakeWrtcModule();
    const media = await createMedia(config.media, new LogCapture().logger("media"), { loadWrtc: wrtc.load });
    expect(wrtc.seen).toEqual({ loads: 1, constructed: [config.media] });
    expect(media).toBeInstanceOf(FakeMedia);
  });
});

describe("NullMedia", () => {
  it("is ready after start, has no snapshot, and fails every call with the reason", async () => {
    const media = new NullMedia();
    const states: MediaEvents["state"][0][] = [];
    let ready = 0;
    media.on("ready", () => (ready += 1));
    media.on("state", (s) => states.push(s));
    await media.start();
    await Promise.resolve();
    expect(ready).toBe(1);
    expect(await media.snapshot()).toBeNull();
    media.startCall("call-0001", []);
    expect(states).toEqual([]); // asynchronous, like a real session
    await Promise.resolve();
    expect(states).toEqual([{ callId: "call-0001", state: "failed", reason: NO_MEDIA_REASON }]);
    expect(NO_MEDIA_REASON).toBe("this kiosk has no camera or call hardware");
    media.hangup("call-0001");
    media.acceptAnswer("call-0001", "v=0");
    media.addRemoteIce("call-0001", { candidate: "x" });
    await media.stop();
    expect(states).toHaveLength(1);
  });
});

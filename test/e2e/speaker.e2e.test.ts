/**
 * The media child's speaker against the real aplay (ALSA's "null" device exists without a sound
 * card) and a file. Needs alsa-utils; runs under `npm run test:e2e`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Speaker } from "../../device/media/wrtc/speaker.js";
import { LogCapture } from "../fixtures/log-capture.js";

const dir = mkdtempSync(join(tmpdir(), "speaker-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const chunk = (sampleRate: number, channelCount: number, value: number): { samples: Int16Array; sampleRate: number; channelCount: number } => ({
  samples: new Int16Array((sampleRate / 100) * channelCount).fill(value),
  sampleRate,
  channelCount,
});

describe("Speaker", () => {
  it("plays through aplay -D DEVICE and restarts aplay when the format changes", async () => {
    const logs = new LogCapture();
    const speaker = new Speaker("aplay:null", logs.logger("speaker", "debug"));
    for (let i = 0; i < 20; i++) speaker.write(chunk(16_000, 1, 100));
    for (let i = 0; i < 50; i++) speaker.write(chunk(48_000, 1, 100));
    await sleep(500);
    speaker.close();
    const starts = logs.find("starting aplay").map((l) => l["args"]);
    expect(starts).toEqual([
      ["-q", "-D", "null", "-t", "raw", "-f", "S16_LE", "-r", "16000", "-c", "1", "-"],
      ["-q", "-D", "null", "-t", "raw", "-f", "S16_LE", "-r", "48000", "-c", "1", "-"],
    ]);
    expect(logs.find("speaker unavailable: the operator's voice is not played")).toEqual([]);
    expect(logs.find("speaker closed")[0]).toMatchObject({ chunks: 70, dropped: 0 });
  });

  it("a broken audio device is logged once and the call goes on silently", async () => {
    const logs = new LogCapture();
    const speaker = new Speaker("aplay:no-such-device", logs.logger("speaker"));
    speaker.write(chunk(48_000, 1, 100));
    await sleep(500);
    for (let i = 0; i < 10; i++) speaker.write(chunk(48_000, 1, 100));
    speaker.close();
    const failures = logs.find("speaker unavailable: the operator's voice is not played");
    expect(failures).toHaveLength(1);
    expect(failures[0]?.["err"]).toMatchObject({ message: expect.stringMatching(/aplay exited \(code 1/) as unknown });
  });

  it("writes 48 kHz mono to a file: stereo is down-mixed, other rates are dropped and counted", async () => {
    const path = join(dir, "out.raw");
    const logs = new LogCapture();
    const speaker = new Speaker(`file:${path}`, logs.logger("speaker"));
    speaker.write(chunk(16_000, 1, 1)); // the sink's pre-RTP tick: dropped
    speaker.write(chunk(48_000, 1, 2));
    speaker.write(chunk(48_000, 2, 3));
    speaker.close();
    await sleep(100);
    const samples = new Int16Array(new Uint8Array(readFileSync(path)).buffer);
    expect(samples.length).toBe(960);
    expect(samples[0]).toBe(2);
    expect(samples[959]).toBe(3);
    expect(logs.find("speaker closed")[0]).toMatchObject({ chunks: 2, dropped: 1 });
  });
});

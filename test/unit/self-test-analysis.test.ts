import { describe, expect, it } from "vitest";
import { CAMERA_BLACK, FRAME_HEIGHT, FRAME_WIDTH, judgeFrames } from "../../device/health/checks/camera.js";
import { detectTone, goertzelPower, meanAbsDiff, meanLuma, toneBlocks } from "../../device/health/checks/analysis.js";
import { toneWav } from "../../device/health/checks/audio.js";
import { parseWav } from "../../device/audio/wav.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";

const RATE = 16_000;

/** A deterministic PRNG (mulberry32): the same "noise" on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `ms` of PCM: a sine of `amplitude` (of full scale) at freqHz plus uniform noise of `noise`. */
function pcm(ms: number, parts: { freqHz?: number; amplitude?: number; noise?: number; from?: number; to?: number }): Int16Array {
  const n = (RATE * ms) / 1_000;
  const out = new Int16Array(n);
  const rand = prng(7);
  const from = ((parts.from ?? 0) * RATE) / 1_000;
  const to = ((parts.to ?? ms) * RATE) / 1_000;
  for (let i = 0; i < n; i += 1) {
    const tone = i >= from && i < to && parts.freqHz !== undefined ? (parts.amplitude ?? 0.5) * Math.sin((2 * Math.PI * parts.freqHz * i) / RATE) : 0;
    const noise = (parts.noise ?? 0) * (rand() * 2 - 1);
    out[i] = Math.max(-32_768, Math.min(32_767, Math.round((tone + noise) * 32_767)));
  }
  return out;
}

const criteria = { rateHz: RATE, freqHz: 1_000, minSnrDb: 10, minLevelDbfs: -50, minBlocks: 15 };

describe("Goertzel tone detection", () => {
  it("goertzelPower of a sine over whole cycles is (A·N/2)², and ~0 at another frequency", () => {
    const s = pcm(100, { freqHz: 1_000, amplitude: 0.5 });
    const a = 0.5 * 32_767;
    expect(goertzelPower(s, 0, 1_600, 1_000, RATE) / ((a * 1_600) / 2) ** 2).toBeCloseTo(1, 4);
    expect(goertzelPower(s, 0, 1_600, 1_500, RATE) / goertzelPower(s, 0, 1_600, 1_000, RATE)).toBeLessThan(1e-6);
  });

  it("hears a clean 1 kHz tone: high SNR, level in dBFS of a full-scale sine", () => {
    const v = detectTone(pcm(1_500, { freqHz: 1_000, amplitude: 0.5 }), criteria);
    expect(v.heard).toBe(true);
    expect(v.snrDb).toBeGreaterThanOrEqual(50);
    expect(v.levelDbfs).toBeCloseTo(-6, 0);
    expect(v.blocks).toBe(30);
  });

  it("does not hear silence: no blocks, level at the floor", () => {
    const v = detectTone(new Int16Array(RATE * 1.5), criteria);
    expect(v).toMatchObject({ heard: false, blocks: 0, levelDbfs: -120 });
  });

  it("does not hear noise alone, nor a 440 Hz tone", () => {
    expect(detectTone(pcm(1_500, { noise: 0.3 }), criteria).heard).toBe(false);
    const wrong = detectTone(pcm(1_500, { freqHz: 440, amplitude: 0.5 }), criteria);
    expect(wrong.heard).toBe(false);
    expect(wrong.snrDb).toBeLessThan(0);
  });

  it("hears the tone through moderate noise; not when the noise is as strong as the tone", () => {
    // Uniform noise of peak p has power p²/3; a sine of amplitude A has A²/2.
    const clear = detectTone(pcm(1_500, { freqHz: 1_000, amplitude: 0.3, noise: 0.05 }), criteria);
    expect(clear.heard).toBe(true);
    expect(clear.snrDb).toBeGreaterThan(15);
    const drowned = detectTone(pcm(1_500, { freqHz: 1_000, amplitude: 0.1, noise: 0.12 }), criteria);
    expect(drowned.heard).toBe(false);
    expect(drowned.snrDb).toBeLessThan(10);
  });

  it("a tone too quiet for minLevelDbfs is not heard, however clean", () => {
    const v = detectTone(pcm(1_500, { freqHz: 1_000, amplitude: 0.001 }), criteria);
    expect(v.levelDbfs).toBeCloseTo(-60, 0);
    expect(v.heard).toBe(false);
  });

  it("a tone heard for less than minBlocks blocks (a click, a short beep) does not pass", () => {
    const v = detectTone(pcm(1_500, { freqHz: 1_000, amplitude: 0.5, from: 200, to: 600 }), criteria);
    expect(v.blocks).toBeGreaterThanOrEqual(7);
    expect(v.heard).toBe(false);
  });

  it("toneBlocks cuts whole blocks and drops a partial tail", () => {
    expect(toneBlocks(new Int16Array(2_000), RATE, 1_000, 800)).toHaveLength(2);
  });

  it("the test tone WAV is 16-bit mono at the rate asked, at the asked amplitude, and detectable", () => {
    const wav = toneWav(1_000, RATE, 1_500, 0.6);
    const info = parseWav(wav);
    expect(info).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: RATE, bitsPerSample: 16, frames: 24_000 });
    const samples = new Int16Array(wav.buffer.slice(wav.byteOffset + info.dataOffset, wav.byteOffset + info.dataOffset + info.dataLength));
    expect(Math.max(...samples)).toBeGreaterThan(0.59 * 32_767);
    expect(Math.max(...samples)).toBeLessThanOrEqual(0.6 * 32_767 + 1);
    expect(samples[0]).toBe(0); // faded in: no click
    expect(detectTone(samples, criteria).heard).toBe(true);
  });
});

describe("camera frame analysis", () => {
  const thresholds = parseKioskConfig({
    version: 1,
    kioskId: "kz-1",
    location: { lat: 0, lon: 0, address: "x" },
    mqtt: { url: "mqtt://h:1883", username: "kz-1", password: "p" },
  }).health.selfTest.camera;
  const BYTES = FRAME_WIDTH * FRAME_HEIGHT;
  const frame = (fill: (i: number) => number): Buffer => Buffer.from(Array.from({ length: BYTES }, (_, i) => fill(i)));

  it("meanLuma and meanAbsDiff", () => {
    expect(meanLuma(new Uint8Array([0, 255, 16, 17]))).toBe(72);
    expect(meanLuma(new Uint8Array(0))).toBe(0);
    expect(meanAbsDiff(new Uint8Array([10, 20, 30]), new Uint8Array([10, 25, 20]))).toBe(5);
    expect(meanAbsDiff(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(0);
    expect(() => meanAbsDiff(new Uint8Array(2), new Uint8Array(3))).toThrow(/differ in size/);
  });

  it("a live picture passes: bright enough and changing", () => {
    const out = Buffer.concat([frame((i) => (i * 7) % 256), ...Array.from({ length: 14 }, () => frame(() => 90)), frame((i) => (i * 7 + 40) % 256)]);
    const v = judgeFrames(out, { fps: 15, thresholds });
    expect(v).toMatchObject({ result: "pass", measurements: { frames: 16, apartS: 1 } });
    expect(v?.measurements).not.toHaveProperty(CAMERA_BLACK);
    expect(v?.measurements?.["frameDiff"]).toBeGreaterThan(10);
  });

  it("a near-black picture fails as black, even when it flickers, and says so in its measurements (black: 1)", () => {
    const v = judgeFrames(Buffer.concat([frame(() => 16), frame((i) => 16 + (i % 3))]), { fps: 15, thresholds });
    expect(v).toMatchObject({ result: "fail", measurements: { meanLuma: 16.5, [CAMERA_BLACK]: 1 } });
    expect(v?.detail).toMatch(/^black picture/);
  });

  it("two identical frames fail as frozen", () => {
    const still = frame((i) => (i * 13) % 200);
    const v = judgeFrames(Buffer.concat([still, frame(() => 0), still]), { fps: 2, thresholds });
    expect(v).toMatchObject({ result: "fail", measurements: { frameDiff: 0, frames: 3 } });
    expect(v?.measurements).not.toHaveProperty(CAMERA_BLACK);
    expect(v?.detail).toMatch(/^frozen picture/);
  });

  it("fewer than two whole frames is no verdict (the caller says 'no picture')", () => {
    expect(judgeFrames(Buffer.alloc(BYTES + 100), { fps: 15, thresholds })).toBeNull();
  });
});

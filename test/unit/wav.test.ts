import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultPromptsDir, promptPath } from "../../device/audio/aplay.js";
import { PROMPTS } from "../../device/audio/player.js";
import { WavError, assertPcm16, encodePcm16, parseWav, pcm16Header, pcm16Samples, scaleWav } from "../../device/audio/wav.js";

const LANGUAGES = ["kk", "ru", "en"] as const;
const samples = [0, 1_000, -1_000, 32_767, -32_768, 3, -3, 12_345];

function chunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, "latin1");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, body.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from("WAVE", "latin1"), ...chunks]);
  const head = Buffer.alloc(8);
  head.write("RIFF", 0, "latin1");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** The fmt chunk body of a canonical header, with some fields overridden. */
function fmt(over: { format?: number; channels?: number; rate?: number; bits?: number } = {}): Buffer {
  const channels = over.channels ?? 1;
  const bits = over.bits ?? 16;
  const body = Buffer.from(pcm16Header(channels, over.rate ?? 16_000, 0).subarray(20, 36));
  body.writeUInt16LE(over.format ?? 1, 0);
  body.writeUInt16LE((channels * bits) / 8, 12);
  body.writeUInt16LE(bits, 14);
  return body;
}

function pcm(values: readonly number[]): Buffer {
  const data = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => data.writeInt16LE(v, i * 2));
  return data;
}

describe("scaleWav: volume applied to the samples", () => {
  const wav = encodePcm16(samples, 16_000);

  it("100 % keeps every sample", () => {
    expect([...pcm16Samples(scaleWav(wav, 100))]).toEqual(samples);
  });

  it("50 % halves them (rounded)", () => {
    const halved = [...pcm16Samples(scaleWav(wav, 50))];
    expect(halved).toEqual(samples.map((s) => Math.round(s / 2)));
    expect(halved.slice(0, 5)).toEqual([0, 500, -500, 16_384, -16_384]);
  });

  it("0 % silences them but keeps the length and format", () => {
    const silent = scaleWav(wav, 0);
    expect([...pcm16Samples(silent)]).toEqual(samples.map(() => 0));
    expect(parseWav(silent)).toMatchObject({ channels: 1, sampleRate: 16_000, bitsPerSample: 16, frames: samples.length });
  });

  it("scales a committed prompt: 25 % quarters its peak", () => {
    const original = pcm16Samples(readFileSync(promptPath(defaultPromptsDir(), "ru", "connecting")));
    const quarter = pcm16Samples(scaleWav(readFileSync(promptPath(defaultPromptsDir(), "ru", "connecting")), 25));
    expect(quarter.length).toBe(original.length);
    const peak = (a: Int16Array): number => a.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak(quarter)).toBeCloseTo(peak(original) / 4, -1);
    for (let i = 0; i < original.length; i += 997) expect(quarter[i]).toBe(Math.round((original[i] ?? 0) * 0.25));
  });

  it("drops extra chunks and writes a canonical 44-byte header", () => {
    const withList = riff(chunk("fmt ", fmt()), chunk("LIST", Buffer.from("INFOx")), chunk("data", pcm([100, -100])));
    const out = scaleWav(withList, 100);
    expect(out.length).toBe(44 + 4);
    expect(out.subarray(36, 40).toString("latin1")).toBe("data");
    expect([...pcm16Samples(out)]).toEqual([100, -100]);
  });
});

describe("parseWav: RIFF chunks", () => {
  it("finds fmt and data after other chunks, including odd-sized ones", () => {
    const wav = riff(chunk("JUNK", Buffer.alloc(3)), chunk("fmt ", fmt({ rate: 22_050 })), chunk("LIST", Buffer.from("odd")), chunk("data", pcm([1, 2, 3])));
    const info = parseWav(wav);
    expect(info).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 22_050, bitsPerSample: 16, frames: 3 });
    expect(wav.readInt16LE(info.dataOffset + 4)).toBe(3);
  });

  it("clamps a data size larger than the file (a streamed or cut WAV) to whole frames", () => {
    const wav = riff(chunk("fmt ", fmt()), chunk("data", pcm([1, 2, 3])));
    const sizeAt = wav.length - 6 - 4;
    wav.writeUInt32LE(1_000, sizeAt);
    expect(parseWav(wav).frames).toBe(3);
    wav.writeUInt32LE(0xffffffff, sizeAt);
    expect(parseWav(wav.subarray(0, wav.length - 1)).frames).toBe(2);
  });

  it("refuses what is not a RIFF/WAVE file or lacks its chunks", () => {
    expect(() => parseWav(Buffer.from("ID3 not a wav at all"))).toThrow(/not a RIFF\/WAVE/);
    expect(() => parseWav(riff(chunk("data", pcm([1]))))).toThrow(/data chunk before the fmt chunk/);
    expect(() => parseWav(riff(chunk("fmt ", fmt())))).toThrow(/no data chunk/);
    expect(() => parseWav(riff())).toThrow(WavError);
  });

  it("refuses anything but 16-bit integer PCM, saying why", () => {
    const float = riff(chunk("fmt ", fmt({ format: 3, bits: 32 })), chunk("data", Buffer.alloc(8)));
    expect(() => scaleWav(float, 50)).toThrow(/unsupported WAV encoding 3 .*16-bit integer PCM/);
    const eightBit = riff(chunk("fmt ", fmt({ bits: 8 })), chunk("data", Buffer.alloc(4)));
    expect(() => scaleWav(eightBit, 50)).toThrow(/unsupported sample size 8 bits/);
    expect(() => assertPcm16(parseWav(encodePcm16([1, 2], 16_000)))).not.toThrow();
  });

  it("accepts WAVE_FORMAT_EXTENSIBLE with the PCM sub-format", () => {
    const ext = Buffer.concat([fmt({ format: 0xfffe }), Buffer.alloc(24)]);
    ext.writeUInt16LE(22, 16);
    ext.writeUInt16LE(1, 24);
    expect(parseWav(riff(chunk("fmt ", ext), chunk("data", pcm([5])))).audioFormat).toBe(1);
  });
});

describe("the committed voice prompts (device/prompts)", () => {
  const dir = defaultPromptsDir();
  const texts = JSON.parse(readFileSync(`${dir}/texts.json`, "utf8")) as { prompts: Record<string, Record<string, string>> };

  it.each(LANGUAGES.flatMap((language) => PROMPTS.map((prompt) => [language, prompt] as const)))("%s/%s.wav is short, mono 16-bit PCM and audible", (language, prompt) => {
    const wav = readFileSync(promptPath(dir, language, prompt));
    const info = parseWav(wav);
    expect(() => assertPcm16(info)).not.toThrow();
    expect(info.channels).toBe(1);
    expect([16_000, 22_050]).toContain(info.sampleRate);
    expect(info.durationMs).toBeGreaterThan(1_000);
    expect(info.durationMs).toBeLessThan(5_000);
    const peak = pcm16Samples(wav).reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(20_000); // normalised to about -1 dBFS
    expect(texts.prompts[prompt]?.[language]?.length).toBeGreaterThan(5);
  });

  it("the whole set stays small (< 1.5 MB)", () => {
    const total = LANGUAGES.flatMap((l) => PROMPTS.map((p) => statSync(promptPath(dir, l, p)).size)).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(1.5 * 1024 * 1024);
  });
});

/**
 * The pure measurements behind the camera and audio self-tests, on raw buffers:
 *
 * - camera: 8-bit luma frames (ffmpeg `-pix_fmt gray`, full range: black ≈ 0): the mean luma of a
 *   frame ("black" when it is at or below a threshold) and the mean absolute difference between two
 *   frames taken ~1 s apart ("frozen" when it is at or below a threshold: a live sensor is never
 *   bit-identical twice).
 * - audio: 16-bit mono PCM. Goertzel gives the energy at the test frequency in each block; the rest
 *   of the block's energy is the noise. A block hears the tone when the tone stands minSnrDb above
 *   the rest and is at least minLevelDbfs loud (0 dBFS = a full-scale sine).
 */

export function meanLuma(frame: Uint8Array): number {
  if (frame.length === 0) return 0;
  let sum = 0;
  for (const y of frame) sum += y;
  return sum / frame.length;
}

/** Mean absolute difference per pixel of two frames of the same size (0 = identical). */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`frames differ in size (${a.length} vs ${b.length} bytes)`);
  if (a.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** Goertzel: the squared magnitude of the DFT of samples[start, start+n) at freqHz. */
export function goertzelPower(samples: Int16Array, start: number, n: number, freqHz: number, rateHz: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freqHz) / rateHz);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + n; i += 1) {
    const s = (samples[i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

export interface ToneBlock {
  /** Tone energy over everything else in the block, in dB (capped at 60). */
  readonly snrDb: number;
  /** The tone's level, in dB relative to a full-scale sine (−∞ → −120). */
  readonly levelDbfs: number;
}

const FULL_SCALE = 32_768;
const FLOOR_DB = -120;
const MAX_SNR_DB = 60;

/** Splits the samples into blocks of blockSamples and measures the tone in each. */
export function toneBlocks(samples: Int16Array, rateHz: number, freqHz: number, blockSamples: number): ToneBlock[] {
  const blocks: ToneBlock[] = [];
  for (let start = 0; start + blockSamples <= samples.length; start += blockSamples) {
    let energy = 0;
    for (let i = start; i < start + blockSamples; i += 1) energy += (samples[i] ?? 0) ** 2;
    // A sine of amplitude A over whole cycles: power = (A·N/2)², its energy A²·N/2 = 2·power/N.
    const tone = Math.min(energy, (2 * goertzelPower(samples, start, blockSamples, freqHz, rateHz)) / blockSamples);
    const rest = energy - tone;
    const amplitude = Math.sqrt((2 * tone) / blockSamples);
    const levelDbfs = amplitude > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(amplitude / FULL_SCALE)) : FLOOR_DB;
    const snrDb = tone <= 0 ? -MAX_SNR_DB : rest <= tone * 1e-6 ? MAX_SNR_DB : Math.min(MAX_SNR_DB, 10 * Math.log10(tone / rest));
    blocks.push({ snrDb, levelDbfs });
  }
  return blocks;
}

export interface ToneCriteria {
  readonly rateHz: number;
  readonly freqHz: number;
  readonly minSnrDb: number;
  readonly minLevelDbfs: number;
  /** Blocks that must hear the tone (e.g. half the tone's length). */
  readonly minBlocks: number;
  /** Default 50 ms (whole cycles of 1 kHz at 8, 16 or 48 kHz). */
  readonly blockMs?: number;
}

export interface ToneVerdict {
  readonly heard: boolean;
  /** Blocks that heard the tone. */
  readonly blocks: number;
  /** The minBlocks-th best SNR and level: what the tone held for the required time. */
  readonly snrDb: number;
  readonly levelDbfs: number;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Whether the recording holds the tone, loud and clean enough, for at least minBlocks blocks. */
export function detectTone(samples: Int16Array, c: ToneCriteria): ToneVerdict {
  const blockSamples = Math.max(1, Math.round((c.rateHz * (c.blockMs ?? 50)) / 1_000));
  const blocks = toneBlocks(samples, c.rateHz, c.freqHz, blockSamples);
  const passing = blocks.filter((b) => b.snrDb >= c.minSnrDb && b.levelDbfs >= c.minLevelDbfs).length;
  const kth = (values: number[]): number => values.sort((a, b) => b - a)[Math.max(0, c.minBlocks - 1)] ?? FLOOR_DB;
  return {
    heard: blocks.length > 0 && passing >= c.minBlocks,
    blocks: passing,
    snrDb: round1(kth(blocks.map((b) => b.snrDb))),
    levelDbfs: round1(kth(blocks.map((b) => b.levelDbfs))),
  };
}

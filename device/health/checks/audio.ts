/**
 * Audio-path self-test (the help points' "tone test"): the speaker plays a 1 kHz tone (aplay, a WAV
 * on stdin) while the microphone records (ffmpeg's ALSA input, as a call's capture, or arecord) as
 * 16 kHz mono PCM; the recording must hold the tone, minSnrDb above everything else and at least
 * minLevelDbfs loud, for at least half the tone's length (Goertzel in 50 ms blocks, analysis.ts).
 * Tried at each of `volumes` in turn (rising) until heard; the first try that hears it passes.
 *
 * Recorder and player are parameters: the e2e tests record lavfi sources (sine=1000 heard,
 * anullsrc silent) and play to ALSA's null device.
 */
import type { HealthConfig } from "../../../shared/config/kiosk.js";
import { detectTone, type ToneVerdict } from "./analysis.js";
import { type CheckOutcome, pause, type SelfCheck } from "./check.js";
import { type CommandRunner, describeRun, type RunResult } from "./runner.js";

export const TONE_HZ = 1_000;
export const RECORD_RATE = 16_000;
/** The recorder starts this long before the tone, and runs this long after it. */
const LEAD_MS = 300;
const TAIL_MS = 400;
const BLOCK_MS = 50;

export interface Program {
  readonly command: string;
  readonly args: readonly string[];
}

export interface AudioCheckOptions {
  /** A program that writes s16le mono PCM at RECORD_RATE on stdout for durationMs, then exits. */
  readonly record: (durationMs: number) => Program;
  /** A program that plays the WAV it reads on stdin; null when there is no speaker to play to. */
  readonly play: Program | null;
  readonly thresholds: HealthConfig["selfTest"]["audio"];
}

/** ffmpeg as the recorder: `input` is `-f alsa -i DEVICE` on a kiosk, a lavfi source in tests. */
export function ffmpegRecorder(ffmpeg: string, input: readonly string[]): (durationMs: number) => Program {
  return (durationMs) => ({
    command: ffmpeg,
    args: ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", ...input, "-t", (durationMs / 1_000).toFixed(3), "-ac", "1", "-ar", String(RECORD_RATE), "-f", "s16le", "pipe:1"],
  });
}

export function arecordRecorder(device: string): (durationMs: number) => Program {
  return (durationMs) => ({
    command: "arecord",
    args: ["-q", "-D", device, "-f", "S16_LE", "-r", String(RECORD_RATE), "-c", "1", "-t", "raw", "-s", String(Math.round((RECORD_RATE * durationMs) / 1_000))],
  });
}

/** A 16-bit mono WAV of a sine at `amplitude` (0..1 of full scale) with 10 ms fades (no clicks). */
export function toneWav(freqHz: number, rateHz: number, ms: number, amplitude: number): Buffer {
  const n = Math.round((rateHz * ms) / 1_000);
  const fade = Math.round(rateHz / 100);
  const wav = Buffer.alloc(44 + n * 2);
  wav.write("RIFF", 0, "latin1");
  wav.writeUInt32LE(36 + n * 2, 4);
  wav.write("WAVEfmt ", 8, "latin1");
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rateHz, 24);
  wav.writeUInt32LE(rateHz * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36, "latin1");
  wav.writeUInt32LE(n * 2, 40);
  const peak = Math.max(0, Math.min(1, amplitude)) * 32_767;
  for (let i = 0; i < n; i += 1) {
    const envelope = Math.min(1, i / fade, (n - 1 - i) / fade);
    wav.writeInt16LE(Math.round(peak * envelope * Math.sin((2 * Math.PI * freqHz * i) / rateHz)), 44 + i * 2);
  }
  return wav;
}

function samplesOf(pcm: Buffer): Int16Array {
  const aligned = new Uint8Array(pcm.length - (pcm.length % 2));
  aligned.set(pcm.subarray(0, aligned.length));
  return new Int16Array(aligned.buffer, 0, aligned.length / 2);
}

export class AudioCheck implements SelfCheck {
  readonly name = "audio" as const;

  constructor(
    private readonly options: AudioCheckOptions,
    private readonly runner: CommandRunner,
  ) {}

  async run(signal: AbortSignal): Promise<CheckOutcome> {
    const { volumes } = this.options.thresholds;
    let last: ToneVerdict | undefined;
    for (const [i, volume] of volumes.entries()) {
      const attempt = await this.attempt(volume, signal);
      if (signal.aborted) return { result: "fail", detail: "aborted" };
      if ("failure" in attempt) return { result: "fail", detail: attempt.failure, measurements: { volume, tries: i + 1 } };
      last = attempt;
      const measurements = { volume, tries: i + 1, snrDb: attempt.snrDb, levelDbfs: attempt.levelDbfs };
      if (attempt.heard) return { result: "pass", detail: `1 kHz tone heard at volume ${volume}% (SNR ${attempt.snrDb} dB, ${attempt.levelDbfs} dBFS)`, measurements };
    }
    const { minSnrDb, minLevelDbfs } = this.options.thresholds;
    return {
      result: "fail",
      detail: `1 kHz tone not heard, even at volume ${volumes.at(-1)}% (SNR ${last?.snrDb} dB < ${minSnrDb} or level ${last?.levelDbfs} dBFS < ${minLevelDbfs}): check the speaker, the microphone and what covers them`,
      measurements: { volume: volumes.at(-1) ?? 0, tries: volumes.length, snrDb: last?.snrDb ?? 0, levelDbfs: last?.levelDbfs ?? 0 },
    };
  }

  /** One try: record while the tone plays; the verdict, or why the speaker or microphone failed. */
  private async attempt(volume: number, signal: AbortSignal): Promise<ToneVerdict | { failure: string }> {
    const { record, play, thresholds: t } = this.options;
    const timeoutMs = t.timeoutMs;
    const recorder = record(LEAD_MS + t.toneMs + TAIL_MS);
    const recording = this.runner.run(recorder.command, recorder.args, { timeoutMs, signal, maxStdoutBytes: RECORD_RATE * 2 * 60 });
    let played: Promise<RunResult> | undefined;
    if (play !== null) {
      await pause(LEAD_MS, signal);
      if (!signal.aborted) played = this.runner.run(play.command, play.args, { timeoutMs, signal, stdin: toneWav(TONE_HZ, RECORD_RATE, t.toneMs, volume / 100) });
    }
    const [rec, ply] = await Promise.all([recording, played]);
    if (ply !== undefined && (ply.failure !== undefined || ply.code !== 0)) return { failure: `speaker: ${describeRun(play?.command ?? "player", ply)}; check audio.device and the speaker` };
    const samples = samplesOf(rec.stdout);
    if (samples.length < (RECORD_RATE * BLOCK_MS) / 1_000 || rec.failure !== undefined || rec.code !== 0) {
      return { failure: `microphone: ${describeRun(recorder.command, rec)}; check media.audioDevice and the microphone` };
    }
    const minBlocks = Math.max(1, Math.floor(t.toneMs / BLOCK_MS / 2));
    return detectTone(samples, { rateHz: RECORD_RATE, freqHz: TONE_HZ, minSnrDb: t.minSnrDb, minLevelDbfs: t.minLevelDbfs, minBlocks, blockMs: BLOCK_MS });
  }
}

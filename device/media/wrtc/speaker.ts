/**
 * The operator's voice on the kiosk (media child only): 16-bit PCM chunks from wrtc's
 * RTCAudioSink, to `aplay` ("aplay" or "aplay:DEVICE" for `aplay -D DEVICE`; raw, at the chunks'
 * own rate and channel count; restarted when the format changes), appended to a file as raw s16le 48 kHz mono ("file:PATH", for tests), or
 * dropped ("none"). Never blocks the call: a slow or dead output drops chunks, counted and logged
 * once per call when closed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { AUDIO_RATE } from "./capture.js";

export interface PcmChunk {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly channelCount: number;
}

/** Queued bytes beyond this are dropped (~1 s of 48 kHz mono). */
const MAX_QUEUED_BYTES = AUDIO_RATE * 2;

export class Speaker {
  private out: Writable | undefined;
  private aplay: ChildProcess | undefined;
  private format = "";
  private failed = false;
  private written = 0;
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly target: string,
    private readonly log: Logger,
    private readonly aplayPath = "aplay",
  ) {}

  write(chunk: PcmChunk): void {
    if (this.closed || this.failed || this.target === "none") return;
    const pcm = this.target.startsWith("file:") ? this.asMono48k(chunk) : chunk;
    if (pcm === undefined) return;
    const out = this.output(pcm);
    if (out === undefined) return;
    if (out.writableLength > MAX_QUEUED_BYTES) {
      this.dropped += 1;
      return;
    }
    // Copy: the sink's buffer belongs to wrtc and the stream keeps it until flushed.
    out.write(Buffer.from(pcm.samples.buffer.slice(pcm.samples.byteOffset, pcm.samples.byteOffset + pcm.samples.byteLength)));
    this.written += 1;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endOutput();
    if (this.written > 0 || this.dropped > 0) this.log.info({ speaker: this.target, chunks: this.written, dropped: this.dropped }, "speaker closed");
  }

  /** The file format is fixed: mono 48 kHz (first channel kept); other rates are dropped. */
  private asMono48k(chunk: PcmChunk): PcmChunk | undefined {
    if (chunk.sampleRate !== AUDIO_RATE) {
      this.dropped += 1;
      return undefined;
    }
    if (chunk.channelCount <= 1) return chunk;
    const frames = Math.floor(chunk.samples.length / chunk.channelCount);
    const mono = new Int16Array(frames);
    for (let i = 0; i < frames; i++) mono[i] = chunk.samples[i * chunk.channelCount] ?? 0;
    return { samples: mono, sampleRate: AUDIO_RATE, channelCount: 1 };
  }

  private output(chunk: PcmChunk): Writable | undefined {
    const format = `${chunk.sampleRate}/${chunk.channelCount}`;
    if (this.out !== undefined && this.format === format) return this.out;
    if (this.target.startsWith("file:")) {
      if (this.out !== undefined) return this.out;
      const path = this.target.slice("file:".length);
      this.out = createWriteStream(path, { flags: "a" });
      this.out.on("error", (err) => this.fail(err, { path }));
      this.format = format;
      return this.out;
    }
    this.endOutput();
    this.format = format;
    const device = this.target.startsWith("aplay:") ? ["-D", this.target.slice("aplay:".length)] : [];
    const args = ["-q", ...device, "-t", "raw", "-f", "S16_LE", "-r", String(chunk.sampleRate), "-c", String(chunk.channelCount), "-"];
    this.log.debug({ aplay: this.aplayPath, args }, "starting aplay");
    const child = spawn(this.aplayPath, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => (stderr = (stderr + text).slice(-500)));
    child.on("error", (err) => this.fail(err, { aplay: this.aplayPath }));
    child.on("exit", (code, signal) => {
      if (this.aplay === child && !this.closed) this.fail(new Error(`aplay exited (code ${code}, signal ${signal})`), { stderr: stderr.trim() });
    });
    child.stdin?.on("error", () => undefined); // EPIPE when aplay dies: reported by exit.
    this.aplay = child;
    this.out = child.stdin ?? undefined;
    return this.out;
  }

  private endOutput(): void {
    const out = this.out;
    const aplay = this.aplay;
    this.out = undefined;
    this.aplay = undefined;
    out?.end();
    if (aplay !== undefined && aplay.exitCode === null && aplay.signalCode === null) {
      // aplay drains its buffer and exits at EOF; a stuck sound card must not keep it alive.
      setTimeout(() => aplay.kill("SIGKILL"), 2_000).unref();
    }
  }

  /** The speaker stays silent for the rest of the call: logged once. */
  private fail(err: Error, fields: Record<string, unknown>): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn({ ...fields, err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, speaker: this.target }, "speaker unavailable: the operator's voice is not played");
    this.endOutput();
  }
}

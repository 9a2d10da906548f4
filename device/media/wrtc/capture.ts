/**
 * The kiosk's camera and microphone through ffmpeg (media child only). One ffmpeg per call writes
 * raw I420 video on fd 1 and s16le 48 kHz mono PCM on fd 3; both are cut into whole frames and
 * 10 ms chunks for wrtc's RTCVideoSource/RTCAudioSource. Snapshots are one MJPEG frame from a
 * separate short ffmpeg: from the capture source when no call runs, or from the call's last frame
 * (a V4L2 camera cannot be opened twice).
 *
 * "device" capture (v4l2 + ALSA) is not verifiable on the build machines (no v4l2loopback or
 * snd-aloop): its arguments follow ffmpeg's documentation only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { WrtcChildConfig } from "./ipc.js";

export const AUDIO_RATE = 48_000;
/** 10 ms of mono s16le at 48 kHz: what RTCAudioSource.onData takes. */
export const AUDIO_CHUNK_SAMPLES = AUDIO_RATE / 100;
export const AUDIO_CHUNK_BYTES = AUDIO_CHUNK_SAMPLES * 2;

export type CaptureConfig = Pick<WrtcChildConfig, "capture" | "videoDevice" | "audioDevice" | "width" | "height" | "fps" | "ffmpeg">;

export const i420FrameBytes = (width: number, height: number): number => (width * height * 3) / 2;

const COMMON = ["-hide_banner", "-nostdin", "-nostats"];

/**
 * ffmpeg's input arguments for the camera (also used by the camera self-test). Two live inputs in
 * one ffmpeg: a larger input queue keeps one from stalling the other (unverified here).
 */
export function videoInput(c: CaptureConfig, realtime: boolean): string[] {
  if (c.capture === "test") return [...(realtime ? ["-re"] : []), "-f", "lavfi", "-i", `testsrc2=size=${c.width}x${c.height}:rate=${c.fps}`];
  return ["-thread_queue_size", "512", "-f", "v4l2", "-framerate", String(c.fps), "-video_size", `${c.width}x${c.height}`, "-i", c.videoDevice];
}

function audioInput(c: CaptureConfig): string[] {
  if (c.capture === "test") return ["-re", "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${AUDIO_RATE}`];
  return ["-thread_queue_size", "512", "-f", "alsa", "-i", c.audioDevice];
}

/** ffmpeg's arguments for a call: video (input 0) → I420 on fd 1, audio (input 1) → PCM on fd 3. */
export function captureArgs(c: CaptureConfig): string[] {
  // A camera may not honour -video_size: scale so every frame has the size the parent was told.
  const scale = c.capture === "device" ? ["-vf", `scale=${c.width}:${c.height}`] : [];
  return [
    ...COMMON,
    "-loglevel", "warning",
    ...videoInput(c, true),
    ...audioInput(c),
    "-map", "0:v", ...scale, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-flush_packets", "1", "pipe:1",
    "-map", "1:a", "-f", "s16le", "-ac", "1", "-ar", String(AUDIO_RATE), "-flush_packets", "1", "pipe:3",
  ];
}

const JPEG_OUT = ["-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "5", "pipe:1"];

/** One JPEG from the capture source (no call running). */
export function snapshotArgs(c: CaptureConfig): string[] {
  // Webcams deliver dark frames while auto-exposure settles: take the sixth (unverified here).
  const settle = c.capture === "device" ? ["-vf", "select=gte(n\\,5)"] : [];
  return [...COMMON, "-loglevel", "error", ...videoInput(c, false), ...settle, ...JPEG_OUT];
}

/** One JPEG from an I420 frame written on stdin (a call holds the camera). */
export function frameSnapshotArgs(c: Pick<CaptureConfig, "width" | "height">): string[] {
  return [...COMMON, "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", `${c.width}x${c.height}`, "-i", "pipe:0", ...JPEG_OUT];
}

/** Cuts a byte stream into fixed-size chunks, each in its own fresh, aligned buffer. */
export class FixedChunker {
  private current: Uint8Array;
  private filled = 0;

  constructor(
    private readonly size: number,
    private readonly onChunk: (chunk: Uint8Array) => void,
  ) {
    this.current = new Uint8Array(size);
  }

  push(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(this.size - this.filled, data.length - offset);
      this.current.set(data.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.size) {
        const chunk = this.current;
        this.current = new Uint8Array(this.size);
        this.filled = 0;
        this.onChunk(chunk);
      }
    }
  }
}

/** Keeps the last lines of a child's stderr, for the log line that reports its end. */
function tailOf(stream: Readable | null, keep = 5): () => string[] {
  const lines: string[] = [];
  let partial = "";
  const add = (line: string): void => {
    if (line.trim() !== "") lines.push(line.trim().slice(0, 300));
    lines.splice(0, Math.max(0, lines.length - keep));
  };
  stream?.setEncoding("utf8");
  stream?.on("data", (text: string) => {
    const parts = (partial + text).split("\n");
    partial = (parts.pop() ?? "").slice(-1_000);
    parts.forEach(add);
  });
  return () => (partial.trim() === "" ? [...lines] : [...lines, partial.trim().slice(0, 300)]);
}

export interface CaptureSinks {
  readonly video: (frame: Uint8Array) => void;
  readonly audio: (samples: Int16Array) => void;
  /** ffmpeg ended by itself (camera unplugged, bad device): not called after stop(). */
  readonly ended: (info: { code: number | null; signal: NodeJS.Signals | null; stderr: string[] }) => void;
}

/** A running capture ffmpeg. */
export class Capture {
  private readonly child: ChildProcess;
  private stopping = false;

  constructor(config: CaptureConfig, sinks: CaptureSinks, log: Logger) {
    const args = captureArgs(config);
    log.debug({ ffmpeg: config.ffmpeg, args }, "starting capture");
    this.child = spawn(config.ffmpeg, args, { stdio: ["ignore", "pipe", "pipe", "pipe"] });
    const video = new FixedChunker(i420FrameBytes(config.width, config.height), sinks.video);
    const audio = new FixedChunker(AUDIO_CHUNK_BYTES, (chunk) => sinks.audio(new Int16Array(chunk.buffer, chunk.byteOffset, AUDIO_CHUNK_SAMPLES)));
    this.child.stdout?.on("data", (data: Buffer) => video.push(data));
    (this.child.stdio[3] as Readable | null)?.on("data", (data: Buffer) => audio.push(data));
    const stderr = tailOf(this.child.stderr);
    this.child.on("error", (err) => log.error({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, ffmpeg: config.ffmpeg }, "cannot run ffmpeg"));
    this.child.on("close", (code, signal) => {
      if (!this.stopping) sinks.ended({ code, signal, stderr: stderr() });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (ffmpeg then exits 255, which is normal), SIGKILL if it lingers; resolves at its exit. */
  stop(graceMs = 1_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.once("exit", () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}

/** Runs one short ffmpeg that writes a JPEG on stdout; null on any failure or after timeoutMs. */
export function runSnapshot(ffmpeg: string, args: string[], timeoutMs: number, log: Logger, stdin?: Uint8Array): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const child = spawn(ffmpeg, args, { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const parts: Buffer[] = [];
    let size = 0;
    const stderr = tailOf(child.stderr);
    let settled = false;
    const finish = (jpeg: Buffer | null, why?: Record<string, unknown>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (why !== undefined) log.warn({ ...why, stderr: stderr() }, "snapshot failed");
      resolve(jpeg);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(null, { reason: "timeout", timeoutMs });
    }, timeoutMs);
    child.stdout?.on("data", (data: Buffer) => {
      size += data.length;
      // A 640×480 frame at q 5 is ~20–60 KB; anything near 4 MB is not one frame.
      if (size > 4 * 1024 * 1024) child.kill("SIGKILL");
      else parts.push(data);
    });
    child.on("error", (err) => finish(null, { reason: "spawn", err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }));
    child.on("close", (code, signal) => {
      const jpeg = Buffer.concat(parts);
      const isJpeg = jpeg.length > 4 && jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg.at(-2) === 0xff && jpeg.at(-1) === 0xd9;
      if (code === 0 && isJpeg) finish(jpeg);
      else finish(null, { reason: "ffmpeg", code, signal, bytes: jpeg.length });
    });
    if (stdin !== undefined && child.stdin !== null) {
      child.stdin.on("error", () => undefined); // EPIPE when ffmpeg fails early: reported by close.
      child.stdin.end(stdin);
    }
  });
}

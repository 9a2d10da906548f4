/**
 * Voice prompts through ALSA: the WAV for (language, prompt) is read from the prompts folder, its
 * 16-bit samples are scaled by volume/100 here, and the result is piped to `aplay -q [-D device] -`.
 * Prompts play one after another from a small bounded queue (when it is full the oldest waiting one
 * is dropped). play() never blocks and never throws: a missing aplay, a missing file or a broken
 * sound card is logged once with what to do, and then only at debug level until playback works again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { AudioConfig } from "../../shared/config/kiosk.js";
import { PROMPTS, type PromptName, type PromptPlayer } from "./player.js";
import { WavError, parseWav, scaleWav } from "./wav.js";

export interface AplayPlayerOptions {
  readonly language: AudioConfig["language"];
  /** 0..100, applied to the samples. */
  readonly volume: number;
  /** ALSA device for `aplay -D` (e.g. "plughw:1,0"); default: the system default. */
  readonly device?: string | undefined;
  /** Folder with {language}/{prompt}.wav; default: the repo's device/prompts. */
  readonly promptsDir?: string | undefined;
  /** The aplay program (tests inject a fake). Default "aplay", found on PATH. */
  readonly aplayPath?: string | undefined;
  /** Prompts waiting behind the playing one; default 3. */
  readonly maxQueued?: number | undefined;
  /** A playback running this much longer than its prompt is killed (a stuck sound card). Default 5 s. */
  readonly overrunMs?: number | undefined;
  /** Grace between SIGTERM and SIGKILL in stop(). Default 1 s. */
  readonly stopTimeoutMs?: number | undefined;
}

type Failure = "missing-player" | "player-failed";

interface Playback {
  readonly prompt: PromptName;
  child?: ChildProcess;
  stopped: boolean;
  readonly done: Promise<void>;
}

const HINTS: Record<Failure, string> = {
  "missing-player": "install alsa-utils (sudo apt-get install alsa-utils) or set audio.player to \"none\"",
  "player-failed": "check the sound card and audio.device: `aplay -l` lists the cards (e.g. plughw:1,0 for a USB card), check the speaker cable and that the agent's user is in the audio group",
};

/**
 * The shipped prompts: device/prompts under the folder holding package.json, found by walking up from
 * this module, so it is the same folder from the sources (device/audio) and from dist/device/audio.
 */
export function defaultPromptsDir(moduleUrl: string = import.meta.url): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "device", "prompts");
    if (dirname(dir) === dir) return join(start, "..", "prompts");
  }
}

export function promptPath(promptsDir: string, language: string, prompt: PromptName): string {
  return join(promptsDir, language, `${prompt}.wav`);
}

export class AplayPlayer implements PromptPlayer {
  private readonly queue: PromptName[] = [];
  private readonly cache = new Map<PromptName, Buffer>();
  private readonly fileProblemsLogged = new Set<string>();
  private readonly promptsDir: string;
  private readonly aplayPath: string;
  private readonly maxQueued: number;
  private current: Playback | undefined;
  private failing: Failure | undefined;
  private failuresInARow = 0;
  /** Prompts dropped because the queue was full, since start. */
  dropped = 0;
  played = 0;

  constructor(
    private readonly options: AplayPlayerOptions,
    private readonly log: Logger,
  ) {
    this.promptsDir = options.promptsDir ?? defaultPromptsDir();
    this.aplayPath = options.aplayPath ?? "aplay";
    this.maxQueued = Math.max(1, options.maxQueued ?? 3);
  }

  play(prompt: PromptName): void {
    try {
      if (!PROMPTS.includes(prompt)) {
        this.log.warn({ prompt }, "unknown voice prompt: ignored");
        return;
      }
      if (this.queue.length >= this.maxQueued) {
        const droppedPrompt = this.queue.shift();
        this.dropped += 1;
        this.log.warn({ prompt: droppedPrompt, queued: prompt, dropped: this.dropped, maxQueued: this.maxQueued }, "voice prompt dropped: queue full");
      }
      this.queue.push(prompt);
      this.pump();
    } catch (err) {
      this.log.error({ err, prompt }, "voice prompt not played");
    }
  }

  /** Empties the queue and kills a playing aplay (SIGTERM, then SIGKILL). Later play() calls work. */
  async stop(): Promise<void> {
    this.queue.length = 0;
    const playback = this.current;
    if (playback === undefined) return;
    playback.stopped = true;
    const child = playback.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const killer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 1_000);
      child.kill("SIGTERM");
      await playback.done;
      clearTimeout(killer);
    } else {
      await playback.done;
    }
  }

  private pump(): void {
    if (this.current !== undefined) return;
    const prompt = this.queue.shift();
    if (prompt === undefined) return;
    let settle!: () => void;
    const playback: Playback = { prompt, stopped: false, done: new Promise<void>((resolve) => (settle = resolve)) };
    this.current = playback;
    this.playOne(playback)
      .catch((err: unknown) => this.log.error({ err, prompt }, "voice prompt not played"))
      .finally(() => {
        this.current = undefined;
        settle();
        this.pump();
      });
  }

  private async playOne(playback: Playback): Promise<void> {
    const wav = await this.load(playback.prompt);
    if (wav === undefined || playback.stopped) return;
    await this.runAplay(playback, wav);
  }

  private async load(prompt: PromptName): Promise<Buffer | undefined> {
    const cached = this.cache.get(prompt);
    if (cached !== undefined) return cached;
    const path = promptPath(this.promptsDir, this.options.language, prompt);
    try {
      const scaled = scaleWav(await readFile(path), this.options.volume);
      this.cache.set(prompt, scaled);
      return scaled;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = err instanceof WavError ? err.message : code ?? (err as Error).message;
      const shipped = defaultPromptsDir();
      const hint =
        err instanceof WavError
          ? `the prompts must be 16-bit PCM WAV: use the release's own, in ${shipped} (remove audio.promptsDir from kiosk.json)`
          : `the release ships every language's prompts in ${shipped}: check audio.promptsDir (relative to kiosk.json's folder) and audio.language in kiosk.json, or remove audio.promptsDir to use them; sos kiosk doctor checks them`;
      const level = this.fileProblemsLogged.has(path) ? "debug" : "error";
      this.fileProblemsLogged.add(path);
      this.log[level]({ prompt, path, reason, hint }, "voice prompt file unusable");
      return undefined;
    }
  }

  private runAplay(playback: Playback, wav: Buffer): Promise<void> {
    const args = ["-q", ...(this.options.device !== undefined ? ["-D", this.options.device] : []), "-"];
    const started = Date.now();
    return new Promise<void>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(this.aplayPath, args, { stdio: ["pipe", "ignore", "pipe"] });
      } catch (err) {
        this.onFailure("player-failed", playback.prompt, { reason: (err as Error).message });
        resolve();
        return;
      }
      playback.child = child;
      let stderr = "";
      let timedOut = false;
      let settled = false;
      const limitMs = parseWav(wav).durationMs + (this.options.overrunMs ?? 5_000);
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, limitMs);
      const finish = (report: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        report();
        resolve();
      };
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-1_000)));
      // aplay dying early closes the pipe: the exit status says why, EPIPE adds nothing.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(wav);
      child.once("error", (err: NodeJS.ErrnoException) => {
        const kind: Failure = err.code === "ENOENT" || err.code === "EACCES" ? "missing-player" : "player-failed";
        finish(() => this.onFailure(kind, playback.prompt, { player: this.aplayPath, code: err.code, reason: err.message }));
      });
      child.once("close", (code, signal) => {
        finish(() => {
          const fields = { aplayPid: child.pid, code, signal, ms: Date.now() - started };
          if (playback.stopped) this.log.debug({ prompt: playback.prompt, ...fields }, "voice prompt stopped");
          else if (timedOut) this.onFailure("player-failed", playback.prompt, { ...fields, reason: `aplay did not finish within ${limitMs} ms` });
          else if (code === 0) this.onSuccess(playback.prompt, fields);
          else this.onFailure("player-failed", playback.prompt, { ...fields, device: this.options.device ?? "default", stderr: stderr.trim() });
        });
      });
    });
  }

  private onSuccess(prompt: PromptName, fields: Record<string, unknown>): void {
    this.played += 1;
    if (this.failing !== undefined) {
      this.log.info({ prompt, failuresBefore: this.failuresInARow }, "voice prompts play again");
    }
    this.failing = undefined;
    this.failuresInARow = 0;
    this.log.debug({ prompt, language: this.options.language, ...fields }, "voice prompt played");
  }

  private onFailure(kind: Failure, prompt: PromptName, fields: Record<string, unknown>): void {
    this.failuresInARow += 1;
    const message = kind === "missing-player" ? "aplay not found: voice prompts are silent" : "aplay failed: voice prompts are silent";
    const first = this.failing !== kind;
    this.failing = kind;
    if (first) this.log.error({ prompt, ...fields, hint: HINTS[kind] }, message);
    else this.log.debug({ prompt, ...fields, failuresInARow: this.failuresInARow }, message);
  }
}

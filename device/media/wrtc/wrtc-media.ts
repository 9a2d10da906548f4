/**
 * MediaSession with @roamhq/wrtc and ffmpeg, run in a supervised child process (child.ts): wrtc
 * hangs or segfaults at exit (node-webrtc#636) and piles up native threads (#614), and a media
 * crash must never touch the alert path. This module never loads wrtc itself.
 *
 * The Supervisor forks child.js (next to this file, i.e. dist/device/media/wrtc/child.js) and forks
 * a fresh one after a backoff whenever it dies. `ready` is emitted each time a child has loaded
 * wrtc; when a ready child dies, every call it held gets state failed and `lost` is emitted.
 * start() returns at once (the media side must not delay the alert path); wait for `ready`.
 */
import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { BackoffPolicy } from "../../../shared/backoff.js";
import type { IceCandidate } from "../../../shared/call.js";
import type { WrtcMediaConfig } from "../../../shared/config/kiosk.js";
import type { LogLevel } from "../../../shared/log.js";
import { Supervisor } from "../../lib/supervisor.js";
import type { IceServer, MediaEvents, MediaSession } from "../media.js";
import { type ChildMessage, childMessageSchema, type ParentMessage, type WrtcChildConfig } from "./ipc.js";

/** The compiled child next to this module (dist/device/media/wrtc/child.js in production). */
export const DEFAULT_MEDIA_ENTRY = fileURLToPath(new URL("./child.js", import.meta.url));
export const DEFAULT_MEDIA_RESTART: BackoffPolicy = { minMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export interface WrtcMediaOptions {
  /** The child entry: tests running the TS sources point it at the built dist/…/child.js. */
  readonly childPath?: string;
  /** Node flags for the child (default none: not the parent's, e.g. a test runner's loaders). */
  readonly execArgv?: string[];
  readonly restart?: BackoffPolicy;
  /** A child that has not said ready after this long is restarted. Default 20 s. */
  readonly readyTimeoutMs?: number;
  /** snapshot() resolves null after this long. Default 5 s (the child gives up on ffmpeg 1 s earlier). */
  readonly snapshotTimeoutMs?: number;
  readonly logLevel?: LogLevel;
}

export class WrtcMedia extends EventEmitter<MediaEvents> implements MediaSession {
  /** Restarts the media process; its `spawn`/`exit` events and `restarts` count are for health checks. */
  readonly supervisor: Supervisor;
  private readonly log: Logger;
  private readonly readyTimeoutMs: number;
  private readonly snapshotTimeoutMs: number;
  private child: ChildProcess | undefined;
  private childLog: Logger;
  private running = false;
  private ready = false;
  private readyTimer: NodeJS.Timeout | undefined;
  /** Calls the child holds, until their terminal state. */
  private readonly calls = new Set<string>();
  private readonly snapshots = new Map<number, (jpeg: Buffer | null) => void>();
  private nextRequestId = 1;

  constructor(
    private readonly config: WrtcMediaConfig,
    log: Logger,
    options: WrtcMediaOptions = {},
  ) {
    super();
    this.log = log.child({ media: "wrtc" });
    this.childLog = this.log;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 5_000;
    const childConfig: WrtcChildConfig = {
      capture: config.capture,
      videoDevice: config.videoDevice,
      audioDevice: config.audioDevice,
      width: config.width,
      height: config.height,
      fps: config.fps,
      noMediaTimeoutMs: config.noMediaTimeoutMs,
      speaker: config.speaker,
      ffmpeg: config.ffmpeg,
      snapshotTimeoutMs: Math.max(100, this.snapshotTimeoutMs - 1_000),
      logLevel: options.logLevel ?? (this.log.level as LogLevel),
    };
    const entry = options.childPath ?? DEFAULT_MEDIA_ENTRY;
    const spawn = (): ChildProcess =>
      fork(entry, [JSON.stringify(childConfig)], {
        execArgv: options.execArgv ?? [],
        // Logs come over IPC; stdout/stderr stay ours for what native code prints (journald).
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
    this.supervisor = new Supervisor(spawn, { name: "media", restart: options.restart ?? DEFAULT_MEDIA_RESTART }, this.log);
    this.supervisor.on("spawn", (child) => this.attach(child));
    this.supervisor.on("exit", ({ code, signal }) => this.detach(code, signal));
  }

  /** A child is up and has loaded wrtc. */
  get isReady(): boolean {
    return this.ready;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.supervisor.start();
    return Promise.resolve();
  }

  startCall(callId: string, iceServers: readonly IceServer[]): void {
    if (this.calls.has(callId)) {
      this.log.warn({ callId }, "startCall for a call already running ignored");
      return;
    }
    if (!this.ready) {
      process.nextTick(() => this.emit("state", { callId, state: "failed", reason: "media process not ready" }));
      return;
    }
    this.calls.add(callId);
    // The caller's list (the call manager passes media.iceServers, or per-call TURN); the config's when empty.
    const chosen = iceServers.length > 0 ? iceServers : this.config.iceServers;
    const servers = chosen.map((s) => ({ ...s, urls: typeof s.urls === "string" ? s.urls : [...s.urls] }));
    this.send({ type: "startCall", callId, iceServers: servers });
  }

  acceptAnswer(callId: string, sdp: string): void {
    if (this.calls.has(callId)) this.send({ type: "answer", callId, sdp });
  }

  addRemoteIce(callId: string, candidate: IceCandidate): void {
    if (this.calls.has(callId)) this.send({ type: "ice", callId, candidate });
  }

  hangup(callId: string): void {
    if (this.calls.has(callId)) this.send({ type: "hangup", callId });
  }

  snapshot(): Promise<Buffer | null> {
    if (!this.ready) return Promise.resolve(null);
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), this.snapshotTimeoutMs);
      const finish = (jpeg: Buffer | null): void => {
        clearTimeout(timer);
        this.snapshots.delete(requestId);
        resolve(jpeg);
      };
      this.snapshots.set(requestId, finish);
      this.send({ type: "snapshot", requestId });
    });
  }

  /** Ends the calls and the media process (shutdown message and SIGTERM, SIGKILL after 2 s). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.readyTimer);
    this.send({ type: "shutdown" }, true);
    await this.supervisor.stop();
    this.ready = false;
    for (const finish of [...this.snapshots.values()]) finish(null);
    for (const callId of [...this.calls]) this.endCall(callId, "ended", "media stopped");
  }

  private attach(child: ChildProcess): void {
    this.child = child;
    this.ready = false;
    this.childLog = this.log.child({ process: "media-child", childPid: child.pid });
    child.on("message", (raw: unknown) => this.onMessage(child, raw));
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => {
      if (this.child !== child || this.ready) return;
      this.log.warn({ childPid: child.pid, readyTimeoutMs: this.readyTimeoutMs }, "media process not ready in time: restarting it");
      this.supervisor.restart();
    }, this.readyTimeoutMs);
  }

  private detach(code: number | null, signal: NodeJS.Signals | null): void {
    const wasReady = this.ready;
    this.child = undefined;
    this.ready = false;
    clearTimeout(this.readyTimer);
    for (const finish of [...this.snapshots.values()]) finish(null);
    if (!this.running) return;
    const reason = `media process exited (code ${code}, signal ${signal})`;
    const lost = [...this.calls];
    for (const callId of lost) this.endCall(callId, "failed", "media process lost");
    // A child that never became ready held nothing: a crash loop before ready is logged by the supervisor only.
    if (!wasReady) return;
    this.log.warn({ code, signal, lostCalls: lost.length }, "media process lost");
    this.emit("lost", { reason });
  }

  private endCall(callId: string, state: "ended" | "failed", reason: string): void {
    if (!this.calls.delete(callId)) return;
    this.emit("state", { callId, state, reason });
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.child) return;
    const parsed = childMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ issues: parsed.error.issues.map((i) => i.message) }, "invalid message from the media process ignored");
      return;
    }
    this.handle(parsed.data);
  }

  private handle(message: ChildMessage): void {
    switch (message.type) {
      case "ready":
        this.ready = true;
        clearTimeout(this.readyTimer);
        this.log.info({ wrtc: message.wrtcVersion, restarts: this.supervisor.restarts }, "media process ready");
        if (this.running) this.emit("ready");
        return;
      case "offer":
        if (this.calls.has(message.callId)) this.emit("offer", { callId: message.callId, sdp: message.sdp });
        return;
      case "ice":
        if (this.calls.has(message.callId)) this.emit("ice", { callId: message.callId, candidate: message.candidate });
        return;
      case "state": {
        const { callId, state, reason } = message;
        if (state === "ended" || state === "failed") return this.endCall(callId, state, reason ?? state);
        if (this.calls.has(callId)) this.emit("state", reason === undefined ? { callId, state } : { callId, state, reason });
        return;
      }
      case "snapshot":
        this.snapshots.get(message.requestId)?.(message.jpegBase64 === null ? null : Buffer.from(message.jpegBase64, "base64"));
        return;
      case "log":
        this.childLog[message.level](message.fields, message.msg);
        return;
    }
  }

  private send(message: ParentMessage, evenIfNotReady = false): void {
    const child = this.child;
    if (child === undefined || !child.connected || (!this.ready && !evenIfNotReady)) return;
    child.send(message, (err) => {
      if (err) this.log.debug({ err: { message: err.message }, type: message.type }, "message to the media process lost");
    });
  }
}

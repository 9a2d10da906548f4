/**
 * The media process, forked by WrtcMedia (wrtc-media.ts) and supervised by it: loads @roamhq/wrtc,
 * runs at most one call (call.ts) and takes snapshots, speaking the IPC of ipc.ts. Its logs travel
 * to the parent as `log` messages (the parent writes them with its own pino logger).
 *
 * wrtc segfaults during Node's exit cleanup even after everything is stopped (node-webrtc#636):
 * the handler below ends the process from the "exit" event itself, before that cleanup runs, and
 * keeps the exit code. Before exiting, calls are torn down (sinks, tracks, peer connection,
 * ffmpeg) so no native thread is left running.
 *
 * Usage (by WrtcMedia only): node child.js '<WrtcChildConfig JSON>', with an IPC channel.
 */
import { createLogger } from "../../../shared/log.js";
import { MediaCall } from "./call.js";
import { frameSnapshotArgs, runSnapshot, snapshotArgs } from "./capture.js";
import { type ChildLogLevel, type ChildMessage, type ParentMessage, type WrtcChildConfig, parentMessageSchema, wrtcChildConfigSchema } from "./ipc.js";
import { loadWrtc, wrtcVersion } from "./wrtc-api.js";

// Must stay in the entry file: see the header (node-webrtc#636).
process.on("exit", (code) => process.exit(code));

/** Waiting for ffmpeg and the last IPC messages when shutting down. */
const EXIT_GRACE_MS = 2_000;
const LOG_LEVELS = new Set<string>(["fatal", "error", "warn", "info", "debug", "trace"]);

function readConfig(): WrtcChildConfig {
  const parsed = wrtcChildConfigSchema.safeParse(JSON.parse(process.argv[2] ?? "null"));
  if (!parsed.success) throw new Error(`invalid media child config: ${parsed.error.message}`);
  return parsed.data;
}

function send(message: ChildMessage, done?: () => void): void {
  if (!process.connected || process.send === undefined) {
    done?.();
    return;
  }
  process.send(message, undefined, {}, () => done?.());
}

/** A pino destination that turns each JSON line into a `log` message (stderr when the parent is gone). */
const ipcLogDestination = {
  write(line: string): void {
    if (!process.connected) {
      process.stderr.write(line);
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, name: _name, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const label = typeof level === "string" && LOG_LEVELS.has(level) ? (level as ChildLogLevel) : "info";
    send({ type: "log", level: label, msg: typeof msg === "string" ? msg : "", fields });
  },
};

function main(): void {
  if (process.send === undefined) {
    process.stderr.write("media child: start it through WrtcMedia (it needs an IPC channel)\n");
    process.exit(2);
  }
  const config = readConfig();
  const log = createLogger({ name: "sos-kiosk", level: config.logLevel, destination: ipcLogDestination });
  const wrtc = loadWrtc();
  let call: MediaCall | undefined;
  let snapshotInFlight: Promise<Buffer | null> | undefined;
  let exiting = false;

  function startCall(callId: string, iceServers: Extract<ParentMessage, { type: "startCall" }>["iceServers"]): void {
    if (call !== undefined) {
      log.warn({ callId, activeCallId: call.callId }, "second call refused: busy");
      send({ type: "state", callId, state: "failed", reason: "busy" });
      return;
    }
    let created: MediaCall;
    try {
      created = new MediaCall({
        callId,
        iceServers,
        config,
        wrtc,
        log,
        send: (message) => send(message),
        onClosed: () => {
          if (call === created) call = undefined;
        },
      });
    } catch (err) {
      // wrtc throws at construction on an ICE server it cannot parse (a TURN URL without credentials).
      const reason = `cannot start the call: ${(err as Error).message}`;
      log.warn({ callId, reason }, "call not started");
      send({ type: "state", callId, state: "failed", reason });
      return;
    }
    call = created;
    void created.offer();
  }

  function takeSnapshot(): Promise<Buffer | null> {
    const frame = call?.lastFrame;
    if (frame !== undefined) return runSnapshot(config.ffmpeg, frameSnapshotArgs(config), config.snapshotTimeoutMs, log, frame);
    return runSnapshot(config.ffmpeg, snapshotArgs(config), config.snapshotTimeoutMs, log);
  }

  function handle(message: ParentMessage): void {
    const current = call !== undefined && "callId" in message && call.callId === message.callId ? call : undefined;
    switch (message.type) {
      case "startCall":
        return startCall(message.callId, message.iceServers);
      case "answer":
        if (current === undefined) return log.warn({ callId: message.callId }, "answer for an unknown call ignored");
        return void current.acceptAnswer(message.sdp);
      case "ice":
        if (current === undefined) return log.debug({ callId: message.callId }, "ICE for an unknown call ignored");
        return void current.addIce(message.candidate);
      case "hangup":
        return current?.hangup();
      case "snapshot": {
        const started = Date.now();
        snapshotInFlight ??= takeSnapshot().finally(() => (snapshotInFlight = undefined));
        void snapshotInFlight.then((jpeg) => {
          log.debug({ requestId: message.requestId, bytes: jpeg?.length ?? 0, ms: Date.now() - started }, "snapshot taken");
          send({ type: "snapshot", requestId: message.requestId, jpegBase64: jpeg === null ? null : jpeg.toString("base64") });
        });
        return;
      }
      case "shutdown":
        return exit(0, "shutdown");
    }
  }

  /** Ends the call (stops sinks, tracks, the peer connection, ffmpeg), then the process. */
  function exit(code: number, reason: string): void {
    if (exiting) return;
    exiting = true;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    log.info({ reason, activeCallId: call?.callId }, "media process exiting");
    const active = call;
    active?.finish("ended", "media process stopping");
    const released = active?.released ?? Promise.resolve();
    void released.then(() => send({ type: "log", level: "info", msg: "media process stopped", fields: { reason, code } }, () => process.exit(code)));
  }

  process.on("message", (raw: unknown) => {
    if (exiting) return;
    const parsed = parentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.map((i) => i.message) }, "invalid message from the kiosk agent ignored");
      return;
    }
    handle(parsed.data);
  });
  // The agent is gone (crashed or stopped): nobody will answer a call made here.
  process.on("disconnect", () => exit(0, "parent disconnected"));
  process.on("SIGTERM", () => exit(0, "SIGTERM"));
  process.on("SIGINT", () => exit(0, "SIGINT"));
  process.on("uncaughtException", (err) => {
    log.fatal({ err: { message: err.message, stack: err.stack } }, "media process crashed");
    exit(1, "uncaught exception");
  });
  const version = wrtcVersion();
  log.debug({ wrtc: version, capture: config.capture, width: config.width, height: config.height, fps: config.fps }, "wrtc loaded");
  send(version === undefined ? { type: "ready" } : { type: "ready", wrtcVersion: version });
}

main();

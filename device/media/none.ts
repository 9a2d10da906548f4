/**
 * The media session of a kiosk without a camera or call hardware (a laptop, a data-only kiosk):
 * no snapshot, and every call fails at once with a reason the operator can read.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { IceCandidate } from "../../shared/call.js";
import type { IceServer, MediaEvents, MediaSession } from "./media.js";

export const NO_MEDIA_REASON = "this kiosk has no camera or call hardware";

export class NullMedia extends EventEmitter<MediaEvents> implements MediaSession {
  constructor(private readonly log?: Logger) {
    super();
  }

  start(): Promise<void> {
    // Asynchronous, like a real session: listeners attached after start() still hear it.
    queueMicrotask(() => this.emit("ready"));
    return Promise.resolve();
  }

  startCall(callId: string, _iceServers: readonly IceServer[]): void {
    this.log?.warn({ callId, reason: NO_MEDIA_REASON }, "call refused: no media on this kiosk");
    queueMicrotask(() => this.emit("state", { callId, state: "failed", reason: NO_MEDIA_REASON }));
  }

  acceptAnswer(_callId: string, _sdp: string): void {
    // no call can exist
  }

  addRemoteIce(_callId: string, _candidate: IceCandidate): void {
    // no call can exist
  }

  hangup(_callId: string): void {
    // unknown call ids are ignored (and every id is unknown here)
  }

  snapshot(): Promise<Buffer | null> {
    return Promise.resolve(null);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

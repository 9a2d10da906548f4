/**
 * The port between the kiosk's call logic and its media (camera, microphone, speaker, WebRTC).
 * The real implementation runs @roamhq/wrtc and ffmpeg in a supervised child process (wrtc hangs
 * or segfaults on exit, and a media crash must never touch the alert path); tests use a fake.
 */
import type { EventEmitter } from "node:events";
import type { CallState, IceCandidate } from "../../shared/call.js";

export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface MediaEvents {
  /** The local offer for a call, to send to the operator. */
  offer: [{ callId: string; sdp: string }];
  /** A local ICE candidate for a call. */
  ice: [{ callId: string; candidate: IceCandidate }];
  /**
   * The call's media state: "connected" once media flows both ways (the kiosk hears/sees RTP),
   * "failed" (with a reason, e.g. "no media for 10 s"), "ended" after hangup().
   */
  state: [{ callId: string; state: CallState; reason?: string }];
  /** The media side is ready (after start, and again after a restart of its process). */
  ready: [];
  /** The media side went away (crash, restart): every call it held is gone. */
  lost: [{ reason: string }];
}

export interface MediaSession extends EventEmitter<MediaEvents> {
  start(): Promise<void>;
  /** Opens the camera/microphone for a call and makes an offer (emitted as `offer`). */
  startCall(callId: string, iceServers: readonly IceServer[]): void;
  acceptAnswer(callId: string, sdp: string): void;
  addRemoteIce(callId: string, candidate: IceCandidate): void;
  /** Ends a call; emits state "ended". Unknown call ids are ignored. */
  hangup(callId: string): void;
  /** One JPEG from the camera, or null when there is none (resolves within a few seconds either way). */
  snapshot(): Promise<Buffer | null>;
  stop(): Promise<void>;
}

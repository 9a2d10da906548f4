/**
 * The part of @roamhq/wrtc 0.10 (node-webrtc) the kiosk uses, typed here: the package's own types
 * lean on the DOM lib (absent from this Node-only build) and miss the nonstandard sinks' event
 * shapes. Checked against the 0.10.0 binary (see docs: sink data, frames, getStats).
 *
 * Loading wrtc starts native threads and makes the process segfault at exit (node-webrtc#636):
 * only the media child and test files that add `process.on("exit", (code) => process.exit(code))`
 * may call loadWrtc().
 */
import { createRequire } from "node:module";

export interface WrtcTrack {
  readonly id: string;
  readonly kind: string;
  enabled: boolean;
  stop(): void;
}

export interface WrtcMediaStream {
  readonly id: string;
}

export interface WrtcIceCandidateInit {
  readonly candidate: string;
  readonly sdpMid?: string | null;
  readonly sdpMLineIndex?: number | null;
}

export interface WrtcSessionDescription {
  readonly type: "offer" | "answer" | "pranswer" | "rollback";
  readonly sdp: string;
}

export type WrtcDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export interface WrtcTransceiver {
  readonly mid: string | null;
  direction: WrtcDirection;
  readonly sender: { readonly track: WrtcTrack | null; replaceTrack(track: WrtcTrack | null): Promise<void> };
  readonly receiver: { readonly track: WrtcTrack };
}

/** One entry of getStats(): `type` is "inbound-rtp", "transport", … with fields per type. */
export type WrtcStat = { readonly type: string } & Readonly<Record<string, unknown>>;

export interface WrtcStatsReport {
  forEach(callback: (stat: WrtcStat) => void): void;
}

export interface WrtcPeerConnectionConfig {
  readonly iceServers?: readonly { readonly urls: string | readonly string[]; readonly username?: string; readonly credential?: string }[];
}

export interface WrtcPeerConnection {
  onicecandidate: ((event: { readonly candidate: (WrtcIceCandidateInit & { readonly candidate: string }) | null }) => void) | null;
  ontrack: ((event: { readonly track: WrtcTrack; readonly streams: readonly WrtcMediaStream[] }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  readonly connectionState: "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";
  readonly iceConnectionState: string;
  readonly localDescription: WrtcSessionDescription | null;
  addTransceiver(trackOrKind: WrtcTrack | "audio" | "video", init?: { direction?: WrtcDirection; streams?: WrtcMediaStream[] }): WrtcTransceiver;
  addTrack(track: WrtcTrack, ...streams: WrtcMediaStream[]): unknown;
  getTransceivers(): WrtcTransceiver[];
  createOffer(): Promise<WrtcSessionDescription>;
  createAnswer(): Promise<WrtcSessionDescription>;
  setLocalDescription(description?: WrtcSessionDescription): Promise<void>;
  setRemoteDescription(description: WrtcSessionDescription): Promise<void>;
  addIceCandidate(candidate: WrtcIceCandidateInit): Promise<void>;
  getStats(): Promise<WrtcStatsReport>;
  close(): void;
}

/** 16-bit PCM; numberOfFrames defaults to 10 ms at sampleRate. */
export interface WrtcAudioData {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly bitsPerSample?: number;
  readonly channelCount?: number;
  readonly numberOfFrames?: number;
}

/** I420: width*height luma bytes, then the two quarter-size chroma planes. */
export interface WrtcVideoFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface WrtcAudioSource {
  createTrack(): WrtcTrack;
  onData(data: WrtcAudioData): void;
}

export interface WrtcVideoSource {
  createTrack(): WrtcTrack;
  onFrame(frame: WrtcVideoFrame): void;
}

/**
 * Fires every 10 ms once attached, even before any RTP arrives (silent 16 kHz chunks until the
 * decoder starts, then 48 kHz): a chunk on the sink is no proof of remote media.
 */
export interface WrtcAudioSink {
  ondata: ((data: Required<WrtcAudioData> & { readonly type: string }) => void) | null;
  readonly stopped: boolean;
  stop(): void;
}

export interface WrtcVideoSink {
  onframe: ((event: { readonly frame: WrtcVideoFrame & { readonly rotation: number } }) => void) | null;
  readonly stopped: boolean;
  stop(): void;
}

export interface Wrtc {
  readonly RTCPeerConnection: new (config?: WrtcPeerConnectionConfig) => WrtcPeerConnection;
  readonly MediaStream: new (tracks?: WrtcTrack[]) => WrtcMediaStream;
  readonly nonstandard: {
    readonly RTCAudioSource: new () => WrtcAudioSource;
    readonly RTCVideoSource: new (init?: { isScreencast?: boolean }) => WrtcVideoSource;
    readonly RTCAudioSink: new (track: WrtcTrack) => WrtcAudioSink;
    readonly RTCVideoSink: new (track: WrtcTrack) => WrtcVideoSink;
  };
}

/** Loads the native module (CommonJS) with the types above. */
export function loadWrtc(): Wrtc {
  return createRequire(import.meta.url)("@roamhq/wrtc") as Wrtc;
}

/** The installed @roamhq/wrtc version, for the ready message and logs. */
export function wrtcVersion(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url)("@roamhq/wrtc/package.json") as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

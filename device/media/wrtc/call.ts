/**
 * One call in the media child: an RTCPeerConnection sending the kiosk's camera (sendonly) and
 * microphone (sendrecv) from a capture ffmpeg, and playing the operator's audio on the speaker.
 *
 * States reported: "connecting" after the answer; "connected" once RTP from the operator arrives
 * (inbound-rtp bytes growing in getStats; the audio sink alone proves nothing, it ticks silence
 * without RTP); "failed" "no media for N s" when nothing arrives within noMediaTimeoutMs of the
 * answer or stops arriving that long after connecting, or on ICE/DTLS failure; "ended" after
 * hangup or when the operator closes its side (DTLS close_notify: transport dtlsState "closed").
 * Exactly one terminal state per call; teardown stops sinks, tracks, the peer connection and
 * ffmpeg, in that order.
 */
import type { Logger } from "pino";
import type { CallState, IceCandidate } from "../../../shared/call.js";
import type { IceServer } from "../media.js";
import { AUDIO_CHUNK_SAMPLES, AUDIO_RATE, Capture } from "./capture.js";
import type { ChildMessage, WrtcChildConfig } from "./ipc.js";
import { Speaker } from "./speaker.js";
import type { Wrtc, WrtcAudioSink, WrtcPeerConnection, WrtcStatsReport, WrtcTrack } from "./wrtc-api.js";

const POLL_MS = 200;
const CAPTURE_RESTART_MS = 1_000;
const MAX_CAPTURE_RESTARTS = 5;

type Phase = "offering" | "connecting" | "connected" | "closed";

export interface MediaCallOptions {
  readonly callId: string;
  readonly iceServers: readonly IceServer[];
  readonly config: WrtcChildConfig;
  readonly wrtc: Wrtc;
  readonly log: Logger;
  readonly send: (message: ChildMessage) => void;
  /** After the terminal state was sent and everything is released. */
  readonly onClosed: () => void;
}

export class MediaCall {
  readonly callId: string;
  private phase: Phase = "offering";
  private readonly pc: WrtcPeerConnection;
  private readonly tracks: WrtcTrack[] = [];
  private readonly sinks: WrtcAudioSink[] = [];
  private readonly speaker: Speaker;
  private readonly log: Logger;
  private capture: Capture | undefined;
  private captureRestarts = 0;
  private captureTimer: NodeJS.Timeout | undefined;
  private pendingIce: IceCandidate[] = [];
  private remoteSet = false;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private inboundBytes = 0;
  private lastMediaAt = 0;
  private answeredAt = 0;
  private frame: Uint8Array | undefined;
  /** Settles when the call's ffmpeg has exited (after the terminal state). */
  released: Promise<void> = Promise.resolve();

  constructor(private readonly o: MediaCallOptions) {
    this.callId = o.callId;
    this.log = o.log.child({ callId: o.callId });
    this.speaker = new Speaker(o.config.speaker, this.log);
    const { RTCPeerConnection, MediaStream, nonstandard } = o.wrtc;
    this.pc = new RTCPeerConnection({ iceServers: o.iceServers.map((s) => ({ ...s })) });
    const videoSource = new nonstandard.RTCVideoSource();
    const audioSource = new nonstandard.RTCAudioSource();
    const videoTrack = videoSource.createTrack();
    const audioTrack = audioSource.createTrack();
    this.tracks.push(videoTrack, audioTrack);
    const stream = new MediaStream([audioTrack, videoTrack]);
    // The operator's camera is not wanted on a cellular link: video is sendonly.
    this.pc.addTransceiver(audioTrack, { direction: "sendrecv", streams: [stream] });
    this.pc.addTransceiver(videoTrack, { direction: "sendonly", streams: [stream] });
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate === null || candidate.candidate === "") return;
      this.emit({ type: "ice", callId: this.callId, candidate: { candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null } });
    };
    this.pc.ontrack = ({ track }) => {
      if (track.kind !== "audio" || this.phase === "closed") return;
      const sink = new nonstandard.RTCAudioSink(track);
      this.sinks.push(sink);
      sink.ondata = (data) => {
        // Before RTP the sink ticks 16 kHz silence: play only once the operator's media flows.
        if (this.phase === "connected") this.speaker.write(data);
      };
    };
    this.pc.onconnectionstatechange = () => {
      this.log.debug({ connectionState: this.pc.connectionState, ice: this.pc.iceConnectionState }, "peer connection state");
      if (this.pc.connectionState === "failed") this.finish("failed", "ICE/DTLS connection failed");
    };
    this.startCapture({
      // Whole I420 frames (the capture's chunker cuts width*height*3/2 bytes).
      video: (data) => {
        this.frame = data;
        videoSource.onFrame({ width: o.config.width, height: o.config.height, data });
      },
      audio: (samples) => audioSource.onData({ samples, sampleRate: AUDIO_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: AUDIO_CHUNK_SAMPLES }),
    });
  }

  get state(): Phase {
    return this.phase;
  }

  isClosed(): boolean {
    return this.phase === "closed";
  }

  /** The last I420 frame sent, for a snapshot while the call holds the camera. */
  get lastFrame(): Uint8Array | undefined {
    return this.frame;
  }

  async offer(): Promise<void> {
    try {
      const offer = await this.pc.createOffer();
      if (this.isClosed()) return;
      await this.pc.setLocalDescription(offer);
      if (this.isClosed()) return;
      this.emit({ type: "offer", callId: this.callId, sdp: this.pc.localDescription?.sdp ?? offer.sdp });
      this.log.info("offer made");
    } catch (err) {
      this.finish("failed", `cannot make an offer: ${(err as Error).message}`);
    }
  }

  async acceptAnswer(sdp: string): Promise<void> {
    if (this.phase !== "offering") {
      this.log.warn({ phase: this.phase }, "answer ignored: not waiting for one");
      return;
    }
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (err) {
      this.finish("failed", `bad answer: ${(err as Error).message}`);
      return;
    }
    if (this.state !== "offering") return;
    this.remoteSet = true;
    this.phase = "connecting";
    this.answeredAt = Date.now();
    this.emit({ type: "state", callId: this.callId, state: "connecting" });
    this.poller = setInterval(() => this.poll(), POLL_MS);
    const queued = this.pendingIce;
    this.pendingIce = [];
    for (const candidate of queued) await this.addIce(candidate);
  }

  /** Candidates that arrive before the answer wait for it. */
  async addIce(candidate: IceCandidate): Promise<void> {
    if (this.phase === "closed") return;
    if (!this.remoteSet) {
      if (this.pendingIce.length < 100) this.pendingIce.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, "remote ICE candidate rejected");
    }
  }

  hangup(reason = "hangup"): void {
    this.finish("ended", reason);
  }

  /** Sends the terminal state once, after releasing everything. */
  finish(state: Extract<CallState, "ended" | "failed">, reason: string): void {
    if (this.phase === "closed") return;
    const wasConnected = this.phase === "connected";
    this.phase = "closed";
    clearInterval(this.poller);
    clearTimeout(this.captureTimer);
    for (const sink of this.sinks) sink.stop();
    for (const track of this.tracks) track.stop();
    this.pc.close();
    this.released = this.capture?.stop() ?? Promise.resolve();
    this.capture = undefined;
    this.speaker.close();
    this.frame = undefined;
    const level = state === "failed" ? "warn" : "info";
    this.log[level]({ state, reason, wasConnected, inboundBytes: this.inboundBytes }, "call finished");
    this.emit({ type: "state", callId: this.callId, state, reason });
    this.o.onClosed();
  }

  private startCapture(sinks: { video: (frame: Uint8Array) => void; audio: (samples: Int16Array) => void }): void {
    if (this.phase === "closed") return;
    this.capture = new Capture(
      this.o.config,
      {
        ...sinks,
        ended: ({ code, signal, stderr }) => {
          if (this.phase === "closed") return;
          this.capture = undefined;
          const again = this.captureRestarts < MAX_CAPTURE_RESTARTS;
          this.log.error({ code, signal, stderr, restarting: again }, "capture ffmpeg ended during the call");
          if (!again) return;
          this.captureRestarts += 1;
          this.captureTimer = setTimeout(() => this.startCapture(sinks), CAPTURE_RESTART_MS);
        },
      },
      this.log,
    );
  }

  /** Watches inbound RTP and the DTLS transport; also runs the no-media deadline. */
  private poll(): void {
    if (this.phase !== "connecting" && this.phase !== "connected") return;
    const now = Date.now();
    const timeout = this.o.config.noMediaTimeoutMs;
    const since = this.phase === "connected" ? this.lastMediaAt : this.answeredAt;
    if (now - since >= timeout) {
      this.finish("failed", `no media for ${Math.round(timeout / 1_000)} s`);
      return;
    }
    if (this.polling) return; // getStats can be slow on a busy CPU: never stack them.
    this.polling = true;
    this.pc
      .getStats()
      .then((report) => this.onStats(report))
      .catch((err: unknown) => this.log.debug({ err: { message: (err as Error).message } }, "getStats failed"))
      .finally(() => (this.polling = false));
  }

  private onStats(report: WrtcStatsReport): void {
    if (this.phase !== "connecting" && this.phase !== "connected") return;
    let inbound = 0;
    let dtlsClosed = false;
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp" && typeof stat["bytesReceived"] === "number") inbound += stat["bytesReceived"];
      if (stat.type === "transport" && stat["dtlsState"] === "closed") dtlsClosed = true;
    });
    if (dtlsClosed) {
      this.finish("ended", "remote closed");
      return;
    }
    if (inbound <= this.inboundBytes) return;
    this.inboundBytes = inbound;
    this.lastMediaAt = Date.now();
    if (this.phase === "connecting") {
      this.phase = "connected";
      this.log.info({ afterAnswerMs: this.lastMediaAt - this.answeredAt }, "operator media arriving: connected");
      this.emit({ type: "state", callId: this.callId, state: "connected" });
    }
  }

  private emit(message: ChildMessage): void {
    this.o.send(message);
  }
}

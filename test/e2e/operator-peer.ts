/**
 * The police operator's side of a call, in the test process: an RTCPeerConnection that answers
 * the kiosk's offer, records the kiosk's video frames and audio, and (optionally) talks back with
 * a 1 kHz tone from an RTCAudioSource. Signaling goes straight through the MediaSession's methods
 * and events, as the call logic would relay it over MQTT.
 *
 * It loads wrtc: a test file using it needs `process.on("exit", (code) => process.exit(code))`.
 */
import type { MediaSession } from "../../device/media/media.js";
import type { Wrtc, WrtcAudioSink, WrtcPeerConnection, WrtcTrack, WrtcVideoSink } from "../../device/media/wrtc/wrtc-api.js";

export interface OperatorOptions {
  /** Answer with a 1 kHz tone on the audio line (false: recvonly, no media ever sent). */
  readonly talk: boolean;
}

const RATE = 48_000;
const TONE_HZ = 1_000;

export class OperatorPeer {
  readonly pc: WrtcPeerConnection;
  /** Sizes of the kiosk's decoded video frames. */
  readonly frames: { width: number; height: number }[] = [];
  /** The kiosk's decoded audio at 48 kHz (the sink's silent 16 kHz ticks before RTP are skipped). */
  readonly audio: Int16Array[] = [];
  offerAt = 0;
  private readonly sinks: (WrtcAudioSink | WrtcVideoSink)[] = [];
  private readonly tracks: WrtcTrack[] = [];
  private toneTimer: NodeJS.Timeout | undefined;
  private readonly detach: () => void;

  constructor(
    private readonly wrtc: Wrtc,
    private readonly media: MediaSession,
    readonly callId: string,
    private readonly options: OperatorOptions,
  ) {
    this.pc = new wrtc.RTCPeerConnection();
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate !== null && candidate.candidate !== "") media.addRemoteIce(callId, { candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null });
    };
    this.pc.ontrack = ({ track }) => {
      if (track.kind === "video") {
        const sink = new wrtc.nonstandard.RTCVideoSink(track);
        sink.onframe = ({ frame }) => void this.frames.push({ width: frame.width, height: frame.height });
        this.sinks.push(sink);
      } else {
        const sink = new wrtc.nonstandard.RTCAudioSink(track);
        sink.ondata = (data) => {
          if (data.sampleRate === RATE && data.channelCount === 1) this.audio.push(Int16Array.from(data.samples));
        };
        this.sinks.push(sink);
      }
    };
    const onOffer = ({ callId: id, sdp }: { callId: string; sdp: string }): void => {
      if (id !== callId) return;
      this.offerAt = Date.now();
      void this.answer(sdp);
    };
    const onIce = ({ callId: id, candidate }: { callId: string; candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } }): void => {
      if (id === callId) void this.pc.addIceCandidate(candidate).catch(() => undefined);
    };
    media.on("offer", onOffer);
    media.on("ice", onIce);
    this.detach = () => {
      media.off("offer", onOffer);
      media.off("ice", onIce);
    };
  }

  /** Stops the tone, the sinks and the tracks, and closes the peer connection (DTLS close_notify). */
  close(): void {
    this.detach();
    clearInterval(this.toneTimer);
    for (const sink of this.sinks) sink.stop();
    for (const track of this.tracks) track.stop();
    this.pc.close();
  }

  private async answer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    if (this.options.talk) {
      const source = new this.wrtc.nonstandard.RTCAudioSource();
      const track = source.createTrack();
      this.tracks.push(track);
      const audio = this.pc.getTransceivers().find((t) => t.receiver.track.kind === "audio");
      if (audio === undefined) throw new Error("the kiosk's offer has no audio line");
      await audio.sender.replaceTrack(track);
      audio.direction = "sendrecv";
      // 480 samples = 10 ms = exactly 10 periods of 1 kHz: the same chunk every time, phase-continuous.
      const chunk = new Int16Array(RATE / 100);
      for (let i = 0; i < chunk.length; i++) chunk[i] = Math.round(8_000 * Math.sin((2 * Math.PI * TONE_HZ * i) / RATE));
      this.toneTimer = setInterval(() => source.onData({ samples: chunk, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: chunk.length }), 10);
    } else {
      for (const t of this.pc.getTransceivers()) t.direction = "recvonly";
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.media.acceptAnswer(this.callId, this.pc.localDescription?.sdp ?? answer.sdp);
  }
}

/** Dominant frequency of a tone by zero crossings (enough for one clean sine). */
export function zeroCrossingHz(samples: Int16Array, sampleRate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] ?? 0;
    const b = samples[i] ?? 0;
    if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) crossings += 1;
  }
  return crossings / 2 / (samples.length / sampleRate);
}

export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

export function concat(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

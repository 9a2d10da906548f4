/* global RTCPeerConnection, MediaStream, AudioContext, setTimeout, clearTimeout */
/**
 * One call with a kiosk: accept → the kiosk's offer → our answer, ICE both ways, until either side
 * hangs up. Signaling goes through `send(message)` (the kiosk's call/down topic); the kiosk's
 * call/up messages for this call come in through `handle(message)`.
 */

/** Not connected this long after accepting: give up (another operator may have answered). */
const CONNECT_TIMEOUT_MS = 30_000;

export class Call {
  /**
   * @param {{ callId: string, kioskId: string, alertId: string | null, operator: string, iceServers: RTCIceServer[],
   *   localStream: MediaStream | null, send: (msg: object) => void, onState: (state: string, reason?: string) => void,
   *   onRemoteStream: (stream: MediaStream) => void }} options
   */
  constructor(options) {
    this.options = options;
    this.callId = options.callId;
    this.kioskId = options.kioskId;
    this.alertId = options.alertId;
    this.state = "connecting";
    this.pc = null;
    this.pendingIce = [];
    this.remoteSet = false;
    this.queue = Promise.resolve();
    this.timer = null;
    this.silence = null;
  }

  start() {
    const { iceServers, localStream } = this.options;
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    if (localStream !== null) for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    // Without a microphone, send silence: the kiosk counts the call connected only once the
    // operator's audio arrives, and would otherwise give up ("no media").
    if (localStream === null || localStream.getAudioTracks().length === 0) this.addSilence(pc);
    pc.onicecandidate = (event) => {
      const c = event.candidate;
      if (c === null || c.candidate === "") return;
      this.send({ type: "ice", candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
    };
    pc.ontrack = (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.options.onRemoteStream(stream);
    };
    pc.onconnectionstatechange = () => {
      if (this.isOver()) return;
      const s = pc.connectionState;
      if (s === "connected") this.setState("connected");
      else if (s === "failed") this.hangup("the connection to the kiosk failed (network)");
      else if (s === "disconnected") this.setState(this.state, "connection interrupted, trying to recover…");
    };
    this.send({ type: "accept", operator: this.options.operator });
    this.setState("connecting");
    this.timer = setTimeout(() => {
      if (this.state === "connecting") this.hangup(`no connection to the kiosk after ${CONNECT_TIMEOUT_MS / 1000} s (another operator may have answered)`);
    }, CONNECT_TIMEOUT_MS);
  }

  /** A message from the kiosk for this call; handled one at a time, in order. */
  handle(message) {
    this.queue = this.queue.then(() => this.process(message)).catch((err) => {
      this.hangup(`call setup failed: ${(err instanceof Error ? err.message : String(err)).slice(0, 300)}`);
    });
    return this.queue;
  }

  async process(message) {
    if (this.isOver() || this.pc === null) return;
    const pc = this.pc;
    switch (message.type) {
      case "offer": {
        await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        this.remoteSet = true;
        for (const candidate of this.pendingIce.splice(0)) await this.addIce(candidate);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.send({ type: "answer", sdp: pc.localDescription?.sdp ?? answer.sdp });
        return;
      }
      case "ice":
        if (this.remoteSet) await this.addIce(message.candidate);
        else this.pendingIce.push(message.candidate);
        return;
      case "state":
        if (message.state === "connected") this.setState("connected");
        else if (message.state === "ended" || message.state === "failed") this.end(message.state, message.reason ?? `the kiosk reports the call ${message.state}`);
        return;
      case "hangup":
        this.end("ended", message.reason ? `the kiosk hung up: ${message.reason}` : "the kiosk hung up");
        return;
      default:
        return;
    }
  }

  addSilence(pc) {
    try {
      this.silence = new AudioContext();
      const destination = this.silence.createMediaStreamDestination();
      const osc = this.silence.createOscillator();
      const gain = this.silence.createGain();
      gain.gain.value = 0;
      osc.connect(gain).connect(destination);
      osc.start();
      for (const track of destination.stream.getAudioTracks()) pc.addTrack(track, destination.stream);
    } catch {
      /* no audio at all in this browser: receive only */
    }
  }

  async addIce(candidate) {
    try {
      await this.pc?.addIceCandidate(candidate);
    } catch {
      // A candidate the browser cannot use (another address family, a stale generation): the others still can.
    }
  }

  setMuted(muted) {
    for (const track of this.options.localStream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  /**
   * The call ends here: the kiosk is told. `cause`: "page-gone" when the page is going away (the kiosk
   * then rings again, so the caller can be answered again), "operator" otherwise.
   */
  hangup(reason, cause = "operator") {
    if (this.isOver()) return;
    this.send({ type: "hangup", reason, cause });
    this.end("ended", reason);
  }

  /** Ends the call here (the kiosk already knows, or was just told). */
  end(state, reason) {
    if (this.isOver()) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.pc?.close();
    } catch {
      /* already closed */
    }
    this.silence?.close().catch(() => undefined);
    this.setState(state, reason);
  }

  isOver() {
    return this.state === "ended" || this.state === "failed";
  }

  setState(state, reason) {
    this.state = state;
    this.options.onState(state, reason);
  }

  send(fields) {
    this.options.send({ v: 1, callId: this.callId, pageId: this.options.pageId, ...fields });
  }
}

// wrtc segfaults during Node's exit cleanup (node-webrtc#636): end the process from "exit" itself.
process.on("exit", (code) => process.exit(code));

/**
 * The real WrtcMedia (media child from dist/, ffmpeg's test picture and 440 Hz tone, the speaker
 * written to a file) against an operator RTCPeerConnection in this process. Needs ffmpeg and a
 * build (`npm run test:e2e` builds first).
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallState } from "../../shared/call.js";
import type { WrtcMediaConfig } from "../../shared/config/kiosk.js";
import type { MediaEvents } from "../../device/media/media.js";
import { loadWrtc } from "../../device/media/wrtc/wrtc-api.js";
import { WrtcMedia } from "../../device/media/wrtc/wrtc-media.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { concat, OperatorPeer, rms, zeroCrossingHz } from "./operator-peer.js";

const CHILD = join(import.meta.dirname, "../../dist/device/media/wrtc/child.js");
const NO_MEDIA_MS = 2_000;

const wrtc = loadWrtc();
const dir = mkdtempSync(join(tmpdir(), "wrtc-media-e2e-"));
const speakerFile = join(dir, "speaker.raw");
const logs = new LogCapture();
const config: WrtcMediaConfig = {
  driver: "wrtc",
  capture: "test",
  videoDevice: "/dev/video0",
  audioDevice: "default",
  width: 640,
  height: 480,
  fps: 15,
  iceServers: [],
  noMediaTimeoutMs: NO_MEDIA_MS,
  speaker: `file:${speakerFile}`,
  ffmpeg: "ffmpeg",
};
const media = new WrtcMedia(config, logs.logger("e2e", "debug"), { childPath: CHILD, restart: { minMs: 300, maxMs: 1_000, factor: 2, jitter: 0 } });
const states: MediaEvents["state"][0][] = [];
media.on("state", (s) => states.push(s));
const operators: OperatorPeer[] = [];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const timing = (what: string, value: number): void => void process.stdout.write(`[e2e] ${what}: ${value}\n`);

/** Resolves with the first event matching `match`, or fails after timeoutMs. */
function next<K extends keyof MediaEvents>(event: K, match: (...args: MediaEvents[K]) => boolean = () => true, timeoutMs = 8_000): Promise<MediaEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      media.off(event, listener as never);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: MediaEvents[K]): void => {
      if (!match(...args)) return;
      clearTimeout(timer);
      media.off(event, listener as never);
      resolve(args);
    };
    media.on(event, listener as never);
  });
}

const stateOf = (callId: string, state: CallState, timeoutMs?: number): Promise<MediaEvents["state"]> => next("state", (s) => s.callId === callId && s.state === state, timeoutMs);

function operator(talk: boolean): OperatorPeer {
  const peer = new OperatorPeer(wrtc, media, `call-${randomUUID()}`, { talk });
  operators.push(peer);
  return peer;
}

/** Starts a call and waits for "connected"; returns offer → connected in ms. */
async function connect(peer: OperatorPeer): Promise<number> {
  const connected = stateOf(peer.callId, "connected");
  media.startCall(peer.callId, []);
  await connected;
  return Date.now() - peer.offerAt;
}

beforeAll(async () => {
  if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: run npm run build (npm run test:e2e does)`);
  const ready = next("ready", () => true, 20_000);
  const started = Date.now();
  await media.start();
  await ready;
  timing("start → ready (ms)", Date.now() - started);
});

afterAll(async () => {
  for (const peer of operators) peer.close();
  await media.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("WrtcMedia (wrtc + ffmpeg in a child process)", () => {
  it("sends 640-wide video and a 440 Hz tone, plays the operator's 1 kHz voice, reports connected", async () => {
    const peer = operator(true);
    const offerToConnected = await connect(peer);
    timing("offer → connected (ms)", offerToConnected);
    const sizeAtConnect = existsSync(speakerFile) ? statSync(speakerFile).size : 0;
    await sleep(1_500);

    expect(peer.frames.length).toBeGreaterThanOrEqual(5);
    expect(peer.frames.at(-1)).toEqual({ width: 640, height: 480 });
    const heard = concat(peer.audio.slice(-50)); // the last 0.5 s
    timing("operator hears (Hz, zero crossings)", Math.round(zeroCrossingHz(heard, 48_000)));
    expect(rms(heard)).toBeGreaterThan(500);
    expect(zeroCrossingHz(heard, 48_000)).toBeGreaterThan(420);
    expect(zeroCrossingHz(heard, 48_000)).toBeLessThan(460);

    const raw = readFileSync(speakerFile).subarray(sizeAtConnect);
    const played = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length - (raw.length % 2)));
    expect(played.length).toBeGreaterThan(48_000 * 0.8); // ≥ 0.8 s of the 1.5 s
    const tail = played.subarray(-24_000);
    timing("speaker file plays (Hz, zero crossings)", Math.round(zeroCrossingHz(tail, 48_000)));
    expect(rms(tail)).toBeGreaterThan(1_000);
    expect(Math.abs(zeroCrossingHz(tail, 48_000) - 1_000)).toBeLessThan(30);

    const ended = stateOf(peer.callId, "ended");
    media.hangup(peer.callId);
    expect((await ended)[0].reason).toBe("hangup");
    expect(logs.find("operator media arriving: connected", (l) => l["process"] === "media-child")).toHaveLength(1);
  });

  it("refuses a second concurrent call as busy; hangup ends the first", async () => {
    const first = operator(true);
    await connect(first);
    const second = operator(true);
    const busy = stateOf(second.callId, "failed");
    media.startCall(second.callId, []);
    expect((await busy)[0].reason).toBe("busy");

    const ended = stateOf(first.callId, "ended");
    media.hangup(first.callId);
    await ended;
    expect(states.filter((s) => s.callId === first.callId).map((s) => s.state)).toEqual(["connecting", "connected", "ended"]);
  });

  it("a call with an ICE server wrtc cannot parse fails; the media process stays up", async () => {
    const callId = `call-${randomUUID()}`;
    const failed = stateOf(callId, "failed");
    media.startCall(callId, [{ urls: "turn:turn.example.org" }]); // TURN without credentials
    expect((await failed)[0].reason).toBe("cannot start the call: ICE server parse failed");
    expect(media.isReady).toBe(true);
    expect(media.supervisor.restarts).toBe(0);
  });

  it("reports failed 'no media' when the operator never sends anything", async () => {
    const peer = operator(false);
    const failed = stateOf(peer.callId, "failed", NO_MEDIA_MS + 5_000);
    const connecting = stateOf(peer.callId, "connecting");
    media.startCall(peer.callId, []);
    await connecting;
    const answeredAt = Date.now();
    expect((await failed)[0].reason).toBe(`no media for ${NO_MEDIA_MS / 1_000} s`);
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(NO_MEDIA_MS - 300);
    expect(states.some((s) => s.callId === peer.callId && s.state === "connected")).toBe(false);
  });

  it("reports ended when the operator closes its peer connection", async () => {
    const peer = operator(true);
    await connect(peer);
    const ended = stateOf(peer.callId, "ended");
    peer.close();
    expect((await ended)[0].reason).toBe("remote closed");
  });

  it("takes a JPEG snapshot, outside and during a call", async () => {
    let started = Date.now();
    const idle = await media.snapshot();
    timing("snapshot (no call, own ffmpeg) (ms)", Date.now() - started);
    expect(idle).not.toBeNull();
    expect([...idle!.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...idle!.subarray(-2)]).toEqual([0xff, 0xd9]);

    const peer = operator(true);
    await connect(peer);
    started = Date.now();
    const inCall = await media.snapshot();
    timing("snapshot (in a call, from the last frame) (ms)", Date.now() - started);
    expect([...inCall!.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...inCall!.subarray(-2)]).toEqual([0xff, 0xd9]);
    const ended = stateOf(peer.callId, "ended");
    media.hangup(peer.callId);
    await ended;
  });

  it("a killed media process is lost (its call failed), restarted, and takes a new call", async () => {
    const peer = operator(true);
    await connect(peer);
    const lost = next("lost");
    const failed = stateOf(peer.callId, "failed");
    const ready = next("ready");
    const killedAt = Date.now();
    media.supervisor.current?.kill("SIGKILL");
    expect((await lost)[0].reason).toMatch(/signal SIGKILL/);
    expect((await failed)[0].reason).toBe("media process lost");
    expect(await media.snapshot()).toBeNull(); // nobody to take it until the restart
    const early = `call-${randomUUID()}`;
    const refused = stateOf(early, "failed");
    media.startCall(early, []);
    expect((await refused)[0].reason).toBe("media process not ready");
    await ready;
    timing("SIGKILL → ready again (ms)", Date.now() - killedAt);
    peer.close();

    const again = operator(true);
    timing("offer → connected after restart (ms)", await connect(again));
    const ended = stateOf(again.callId, "ended");
    media.hangup(again.callId);
    await ended;
  });

  it("stop() ends a live call and the media process exits 0 (no segfault at exit, no SIGKILL)", async () => {
    const peer = operator(true);
    await connect(peer);
    const ended = stateOf(peer.callId, "ended");
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => media.supervisor.once("exit", resolve));
    const started = Date.now();
    await media.stop();
    timing("stop() with a live call (ms)", Date.now() - started);
    expect(await exited).toMatchObject({ code: 0, signal: null });
    expect((await ended)[0].reason).toBe("media process stopping");
    expect(await media.snapshot()).toBeNull();
  });
});

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseWav } from "../../device/audio/wav.js";
import { AudioCheck, type AudioCheckOptions, RECORD_RATE, ffmpegRecorder } from "../../device/health/checks/audio.js";
import { ButtonCheck, sysfsButtonCircuit } from "../../device/health/checks/button.js";
import { CameraCheck, FRAME_HEIGHT, FRAME_WIDTH } from "../../device/health/checks/camera.js";
import { createChecks } from "../../device/health/checks/index.js";
import { GpioButton } from "../../device/inputs/gpio.js";
import { systemClock } from "../../shared/clock.js";
import { type KioskConfigInput, parseKioskConfig } from "../../shared/config/kiosk.js";
import { FakeGpioBoard, PI4_KERNEL_6_6, fakeSysfs } from "../fixtures/fake-gpio.js";
import { FakeRunner } from "../fixtures/fake-runner.js";
import { LogCapture } from "../fixtures/log-capture.js";

const config = (extra: Partial<KioskConfigInput> = {}) =>
  parseKioskConfig({ version: 1, kioskId: "kz-1", location: { lat: 0, lon: 0, address: "x" }, mqtt: { url: "mqtt://h:1883", username: "kz-1", password: "p" }, ...extra });
const health = config().health.selfTest;
const signal = (): AbortSignal => new AbortController().signal;

/** `ms` of 16 kHz PCM holding a 1 kHz sine of `amplitude` (0 = silence). */
function tone(ms: number, amplitude: number): Buffer {
  const n = (RECORD_RATE * ms) / 1_000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i += 1) b.writeInt16LE(Math.round(amplitude * 32_767 * Math.sin((2 * Math.PI * 1_000 * i) / RECORD_RATE)), i * 2);
  return b;
}

const peakOf = (wav: Uint8Array | undefined): number => {
  const buf = Buffer.from(wav ?? []);
  const info = parseWav(buf);
  let peak = 0;
  for (let o = info.dataOffset; o < info.dataOffset + info.dataLength; o += 2) peak = Math.max(peak, buf.readInt16LE(o));
  return Math.round((peak / 32_767) * 100);
};

afterEach(() => vi.useRealTimers());

describe("AudioCheck (fake runner)", () => {
  const PLAY = { command: "aplay", args: ["-q", "-D", "plughw:1,0", "-"] };
  const options = (over: Partial<AudioCheckOptions> = {}): AudioCheckOptions => ({ record: ffmpegRecorder("ffmpeg", ["-f", "alsa", "-i", "hw:1"]), play: PLAY, thresholds: health.audio, ...over });

  async function run(check: AudioCheck) {
    vi.useFakeTimers();
    const p = check.run(signal());
    await vi.advanceTimersByTimeAsync(5_000);
    return p;
  }

  it("plays the tone at rising volume until the microphone hears it: passes on the third try at 100%", async () => {
    let recordings = 0;
    const runner = new FakeRunner((call) => (call.command === "ffmpeg" ? { stdout: tone(2_200, ++recordings === 3 ? 0.2 : 0) } : {}));
    const result = await run(new AudioCheck(options(), runner));
    expect(result).toMatchObject({ result: "pass", measurements: { volume: 100, tries: 3 } });
    expect(result.measurements?.["levelDbfs"]).toBeCloseTo(-14, 0);
    expect(runner.of("aplay").map((c) => peakOf(c.stdin))).toEqual([30, 60, 100]);
    expect(runner.of("aplay")[0]?.args).toEqual(PLAY.args);
    expect(runner.of("ffmpeg")[0]?.args).toEqual(expect.arrayContaining(["-f", "alsa", "-i", "hw:1", "-t", "2.200", "-ar", "16000", "-f", "s16le", "pipe:1"]));
  });

  it("stops at the first try that hears it", async () => {
    const runner = new FakeRunner((call) => (call.command === "ffmpeg" ? { stdout: tone(2_200, 0.3) } : {}));
    await expect(run(new AudioCheck(options(), runner))).resolves.toMatchObject({ result: "pass", measurements: { volume: 30, tries: 1 } });
    expect(runner.of("aplay")).toHaveLength(1);
  });

  it("never heard: fails after every volume, naming what to check", async () => {
    const runner = new FakeRunner((call) => (call.command === "ffmpeg" ? { stdout: tone(2_200, 0) } : {}));
    const result = await run(new AudioCheck(options(), runner));
    expect(result).toMatchObject({ result: "fail", measurements: { volume: 100, tries: 3, levelDbfs: -120 } });
    expect(result.detail).toMatch(/^1 kHz tone not heard, even at volume 100%.*check the speaker, the microphone/);
  });

  it("a speaker that cannot play fails at once (no louder tries), with aplay's reason", async () => {
    const runner = new FakeRunner((call) => (call.command === "aplay" ? { code: 1, stderr: "aplay: main:831: audio open error: No such device" } : { stdout: tone(2_200, 0) }));
    const result = await run(new AudioCheck(options(), runner));
    expect(result).toMatchObject({ result: "fail", measurements: { tries: 1 } });
    expect(result.detail).toMatch(/^speaker: aplay: exit 1 \(aplay: main:831: audio open error: No such device\)/);
  });

  it("a microphone that cannot record fails with the recorder's reason", async () => {
    const runner = new FakeRunner((call) => (call.command === "ffmpeg" ? { code: null, failure: "spawn: ENOENT" } : {}));
    const result = await run(new AudioCheck(options(), runner));
    expect(result.detail).toMatch(/^microphone: ffmpeg: spawn: ENOENT; check media.audioDevice/);
  });

  it("with nothing to play (synthetic capture) only the recording is judged", async () => {
    const runner = new FakeRunner(() => ({ stdout: tone(2_200, 0.1) }));
    await expect(run(new AudioCheck(options({ play: null }), runner))).resolves.toMatchObject({ result: "pass", measurements: { tries: 1 } });
    expect(runner.of("aplay")).toEqual([]);
  });
});

describe("CameraCheck (fake runner)", () => {
  const BYTES = FRAME_WIDTH * FRAME_HEIGHT;
  const frames = (...fills: ((i: number) => number)[]): Buffer => Buffer.concat(fills.map((f) => Buffer.from(Array.from({ length: BYTES }, (_, i) => f(i)))));
  const check = (runner: FakeRunner) => new CameraCheck({ ffmpeg: "/usr/bin/ffmpeg", input: ["-f", "v4l2", "-i", "/dev/video0"], fps: 15, thresholds: health.camera }, runner);

  it("asks ffmpeg for fps+1 luma frames after the settle frames, and passes a live picture", async () => {
    const runner = new FakeRunner(() => ({ stdout: frames((i) => i % 200, (i) => (i + 50) % 200) }));
    await expect(check(runner).run(signal())).resolves.toMatchObject({ result: "pass" });
    const args = runner.calls[0]?.args ?? [];
    expect(runner.calls[0]?.command).toBe("/usr/bin/ffmpeg");
    expect(args).toEqual(expect.arrayContaining(["-f", "v4l2", "-i", "/dev/video0", "-frames:v", "16", "-pix_fmt", "gray", "pipe:1"]));
    expect(args[args.indexOf("-vf") + 1]).toBe("select=gte(n\\,5),scale=160:120,format=gray");
  });

  it("black and frozen pictures fail", async () => {
    await expect(check(new FakeRunner(() => ({ stdout: frames(() => 16, () => 17) }))).run(signal())).resolves.toMatchObject({ result: "fail", detail: expect.stringMatching(/^black/) as unknown });
    await expect(check(new FakeRunner(() => ({ stdout: frames((i) => i % 99, (i) => i % 99) }))).run(signal())).resolves.toMatchObject({ result: "fail", detail: expect.stringMatching(/^frozen/) as unknown });
  });

  it("no frames (camera missing or busy) fails with ffmpeg's reason", async () => {
    const runner = new FakeRunner(() => ({ code: 1, stderr: "[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video0: Device or resource busy" }));
    const result = await check(runner).run(signal());
    expect(result).toMatchObject({ result: "fail", measurements: { frames: 0 } });
    expect(result.detail).toMatch(/^no picture: \/usr\/bin\/ffmpeg: exit 1 \(.*Device or resource busy\)/);
  });
});

describe("ButtonCheck", () => {
  it("a gpio button line at its idle level passes; held, it fails as stuck; not open, it fails as unreadable", async () => {
    const tree = await fakeSysfs(PI4_KERNEL_6_6);
    const board = new FakeGpioBoard();
    const button = new GpioButton({ line: 17, activeLow: true, debounceMs: 0, pollMs: 0, sysfsRoot: tree.root }, { Gpio: board.Gpio, clock: systemClock, log: new LogCapture().logger("gpio") });
    const check = new ButtonCheck(button);
    await expect(check.run()).resolves.toMatchObject({ result: "fail", detail: expect.stringMatching(/gpio line 17 is not open/) as unknown });
    await button.start();
    await expect(check.run()).resolves.toMatchObject({ result: "pass" });
    board.levels.set(512 + 17, 0); // contact closed (active low)
    await expect(check.run()).resolves.toMatchObject({ result: "fail", detail: expect.stringMatching(/reads pressed with no alarm open/) as unknown });
    board.unreadable.add(512 + 17);
    await expect(check.run()).resolves.toMatchObject({ result: "fail", detail: expect.stringMatching(/cannot be read: EIO/) as unknown });
    await button.stop();
    await tree.cleanup();
  });

  it("drivers without a readable line are not applicable", async () => {
    await expect(new ButtonCheck({ driver: "serial" }).run()).resolves.toEqual({ result: "not-applicable", detail: "the serial button driver has no line to read" });
  });

  it("from outside the agent, the exported line's value file is read (never exported by the reader)", async () => {
    const tree = await fakeSysfs(PI4_KERNEL_6_6);
    const reader = sysfsButtonCircuit(tree.root, 17);
    await expect(reader.circuit?.()).resolves.toMatchObject({ state: "unavailable", reason: expect.stringMatching(/not exported: is the agent running/) as unknown });
    await mkdir(join(tree.root, "gpio529"));
    await writeFile(join(tree.root, "gpio529", "value"), "0\n");
    await expect(reader.circuit?.()).resolves.toEqual({ state: "idle" });
    await writeFile(join(tree.root, "gpio529", "value"), "1\n");
    await expect(reader.circuit?.()).resolves.toEqual({ state: "active" });
    await tree.cleanup();
  });
});

describe("createChecks", () => {
  const names = (checks: { name: string }[]) => checks.map((c) => c.name);

  it("button, camera, audio in that order; no media → camera and audio not applicable", async () => {
    const checks = createChecks(config(), { runner: new FakeRunner(), button: { driver: "stdin" } });
    expect(names(checks)).toEqual(["button", "camera", "audio"]);
    const results = await Promise.all(checks.map((c) => c.run(signal())));
    expect(results.map((r) => r.result)).toEqual(["not-applicable", "not-applicable", "not-applicable"]);
  });

  it("a camera kiosk uses the call's v4l2 input, the media's ALSA microphone and aplay on audio.device", async () => {
    const runner = new FakeRunner();
    const checks = createChecks(config({ media: { driver: "wrtc", videoDevice: "/dev/video2", audioDevice: "plughw:2,0" }, audio: { device: "plughw:1,0" } }), { runner, button: undefined });
    vi.useFakeTimers();
    const all = Promise.all(checks.map((c) => c.run(signal())));
    await vi.advanceTimersByTimeAsync(10_000);
    const results = await all;
    expect(results[0]).toMatchObject({ result: "not-applicable" });
    const [camera, record, play] = [runner.calls[0], runner.of("ffmpeg")[1], runner.of("aplay")[0]];
    expect(camera?.args).toEqual(expect.arrayContaining(["-f", "v4l2", "-framerate", "15", "-video_size", "640x480", "-i", "/dev/video2"]));
    expect(record?.args).toEqual(expect.arrayContaining(["-f", "alsa", "-i", "plughw:2,0"]));
    expect(play?.args).toEqual(["-q", "-D", "plughw:1,0", "-"]);
  });

  it("arecord as the recorder; no speaker → audio not applicable", async () => {
    const runner = new FakeRunner();
    const withArecord = createChecks(config({ media: { driver: "wrtc", audioDevice: "hw:3" }, health: { selfTest: { audio: { recorder: "arecord" } } } }), { runner, button: undefined });
    vi.useFakeTimers();
    const p = withArecord[2]?.run(signal());
    await vi.advanceTimersByTimeAsync(10_000);
    await p;
    expect(runner.of("arecord")[0]?.args).toEqual(["-q", "-D", "hw:3", "-f", "S16_LE", "-r", "16000", "-c", "1", "-t", "raw", "-s", "35200"]);
    const noSpeaker = createChecks(config({ media: { driver: "wrtc" }, audio: { player: "none" } }), { runner, button: undefined });
    await expect(noSpeaker[2]?.run(signal())).resolves.toMatchObject({ result: "not-applicable" });
  });
});

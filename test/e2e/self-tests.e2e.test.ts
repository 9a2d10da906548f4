/**
 * The camera and audio self-tests against real ffmpeg and aplay/arecord, fed ffmpeg's synthetic
 * lavfi sources in place of a camera and a microphone: testsrc2 is a live picture, color=black a
 * black one, smptebars and a looped PNG frozen ones; sine=1000 a microphone that hears the tone,
 * anullsrc a dead one. The tone is played to ALSA's "null" device (no sound card here). Also the
 * technician's `sos kiosk selftest` (built CLI). Needs ffmpeg and alsa-utils: `npm run test:e2e`.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AudioCheck, type AudioCheckOptions, arecordRecorder, ffmpegRecorder, type Program } from "../../device/health/checks/audio.js";
import { CAMERA_BLACK, CameraCheck } from "../../device/health/checks/camera.js";
import { type CommandRunner, spawnRunner } from "../../device/health/checks/runner.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { spawnSos, tempDir } from "../integration/harness.js";

const thresholds = parseKioskConfig({ version: 1, kioskId: "kz-1", location: { lat: 0, lon: 0, address: "x" }, mqtt: { url: "mqtt://h:1883", username: "kz-1", password: "p" } }).health.selfTest;
const signal = (): AbortSignal => new AbortController().signal;
const dir = tempDir("sos-selftest-e2e-");
afterAll(() => dir.remove());

/** The real runner, recording what it ran. */
function recordingRunner(): CommandRunner & { runs: string[] } {
  const runs: string[] = [];
  return {
    runs,
    run: (command, args, options) => {
      runs.push(command);
      return spawnRunner.run(command, args, options);
    },
  };
}

describe("camera self-test on ffmpeg's synthetic sources", () => {
  const camera = (input: string[]) => new CameraCheck({ ffmpeg: "ffmpeg", input, fps: 15, thresholds: thresholds.camera }, spawnRunner).run(signal());
  const lavfi = (source: string): string[] => ["-f", "lavfi", "-i", source];

  it("testsrc2 (a live picture) passes", async () => {
    const r = await camera(lavfi("testsrc2=size=640x480:rate=15"));
    expect(r).toMatchObject({ result: "pass", measurements: { frames: 16, apartS: 1 } });
    expect(r.measurements?.["meanLuma"]).toBeGreaterThan(60);
    expect(r.measurements?.["frameDiff"]).toBeGreaterThan(1);
  });

  it("color=black fails as black, and says so in its measurements (black: 1) for the night run's daylight re-check", async () => {
    const r = await camera(lavfi("color=black:size=640x480:rate=15"));
    expect(r).toMatchObject({ result: "fail", measurements: { frames: 16, [CAMERA_BLACK]: 1 } });
    // ffmpeg's gray is full range: video black (Y 16) comes out near 0.
    expect(r.measurements?.["meanLuma"]).toBeLessThan(5);
    expect(r.detail).toMatch(/^black picture/);
  });

  it("smptebars (a still pattern) fails as frozen", async () => {
    const r = await camera(lavfi("smptebars=size=640x480:rate=15"));
    expect(r).toMatchObject({ result: "fail", measurements: { frameDiff: 0 } });
    expect(r.detail).toMatch(/^frozen picture/);
  });

  it("a still image repeated (one PNG looped) fails as frozen", async () => {
    const png = join(dir.path, "still.png");
    execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1", png]);
    const r = await camera(["-loop", "1", "-framerate", "15", "-i", png]);
    expect(r.result).toBe("fail");
    expect(r.detail).toMatch(/^frozen picture/);
  });

  it("a camera that is not there fails as no picture, with ffmpeg's reason", async () => {
    const r = await camera(["-f", "v4l2", "-i", "/dev/video-none"]);
    expect(r).toMatchObject({ result: "fail", measurements: { frames: 0 } });
    expect(r.detail).toMatch(/^no picture: ffmpeg: exit 1 \(.*video-none/);
  });
});

describe("audio self-test: aplay plays the tone while ffmpeg (or arecord) records", () => {
  const NULL_SPEAKER: Program = { command: "aplay", args: ["-q", "-D", "null", "-"] };
  const audio = (over: Partial<AudioCheckOptions>, runner = recordingRunner()) =>
    new AudioCheck({ record: ffmpegRecorder("ffmpeg", ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]), play: NULL_SPEAKER, thresholds: thresholds.audio, ...over }, runner).run(signal());
  const mic = (source: string) => ffmpegRecorder("ffmpeg", ["-f", "lavfi", "-i", source]);

  it("a microphone that hears the 1 kHz tone passes at the first volume", async () => {
    const runner = recordingRunner();
    const r = await audio({ record: mic("sine=frequency=1000:sample_rate=16000") }, runner);
    expect(r).toMatchObject({ result: "pass", measurements: { volume: 30, tries: 1 } });
    expect(r.measurements?.["snrDb"]).toBeGreaterThan(40);
    expect(runner.runs).toEqual(["ffmpeg", "aplay"]);
  });

  it("the tone through noise still passes", async () => {
    const noisy = "sine=frequency=1000:sample_rate=16000[s];anoisesrc=r=16000:a=0.02[n];[s][n]amix=inputs=2[out0]";
    const r = await audio({ record: mic(noisy) });
    expect(r.result).toBe("pass");
    expect(r.measurements?.["snrDb"]).toBeLessThan(40);
  });

  it("a silent microphone (anullsrc) fails after three tries at rising volume", async () => {
    const runner = recordingRunner();
    const r = await audio({}, runner);
    expect(r).toMatchObject({ result: "fail", measurements: { volume: 100, tries: 3, levelDbfs: -120 } });
    expect(runner.runs).toEqual(["ffmpeg", "aplay", "ffmpeg", "aplay", "ffmpeg", "aplay"]);
  });

  it("a 440 Hz hum instead of the tone fails", async () => {
    await expect(audio({ record: mic("sine=frequency=440:sample_rate=16000") })).resolves.toMatchObject({ result: "fail" });
  });

  it("a weak path heard only at full volume passes on the third try", async () => {
    const sources = ["anullsrc=r=16000:cl=mono", "sine=frequency=1000:sample_rate=16000,volume=0.001", "sine=frequency=1000:sample_rate=16000"];
    let tries = 0;
    const record = (ms: number): Program => mic(sources[tries++] ?? "anullsrc")(ms);
    await expect(audio({ record })).resolves.toMatchObject({ result: "pass", measurements: { volume: 100, tries: 3 } });
  });

  it("arecord (real arguments) on ALSA's null device, which hears no tone (it returns stale buffer bytes): not heard", async () => {
    const runner = recordingRunner();
    const r = await audio({ record: arecordRecorder("null") }, runner);
    expect(r).toMatchObject({ result: "fail", measurements: { tries: 3 } });
    expect(r.measurements?.["snrDb"]).toBeLessThan(thresholds.audio.minSnrDb);
    expect(runner.runs).toEqual(["arecord", "aplay", "arecord", "aplay", "arecord", "aplay"]);
  });

  it("a speaker that cannot be opened fails at once, naming it", async () => {
    const r = await audio({ play: { command: "aplay", args: ["-q", "-D", "no-such-device", "-"] } });
    expect(r).toMatchObject({ result: "fail", measurements: { tries: 1 } });
    expect(r.detail).toMatch(/^speaker: aplay: exit 1 .*no-such-device/);
  });
});

describe("sos kiosk selftest", () => {
  const kiosk = (name: string, extra: Record<string, unknown>): string => {
    const path = join(dir.path, `${name}.json`);
    const base = { version: 1, kioskId: `kz-${name}`, location: { lat: 0, lon: 0, address: "x" }, mqtt: { url: "mqtt://127.0.0.1:1", username: `kz-${name}`, password: "p" } };
    writeFileSync(path, JSON.stringify({ ...base, ...extra }));
    return path;
  };

  it("prints a pass/fail table and exits 0 when nothing failed (the demo's synthetic capture)", async () => {
    const p = spawnSos(["kiosk", "selftest", "--config", kiosk("demo", { media: { driver: "wrtc", capture: "test" } })]);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const out = p.stdout.join("\n");
    expect(out).toMatch(/^check\s+result\s+took\s+detail$/m);
    expect(out).toMatch(/^camera\s+PASS\s+.*live picture/m);
    expect(out).toMatch(/^audio\s+PASS\s+.*1 kHz tone heard/m);
    expect(out).toContain("2 passed, 0 failed, 1 not applicable");
  });

  it("exits 1 when a check fails; --json gives the results", async () => {
    const p = spawnSos(["kiosk", "selftest", "--json", "--config", kiosk("broken", { media: { driver: "wrtc", videoDevice: "/dev/video-none", audioDevice: "null" }, audio: { device: "null" }, health: { selfTest: { audio: { volumes: [100] } } } })]);
    expect(await p.exited).toEqual({ code: 1, signal: null });
    const json = JSON.parse(p.stdout.join("\n")) as { ok: boolean; results: { name: string; result: string }[] };
    expect(json.ok).toBe(false);
    expect(json.results.map((r) => `${r.name}:${r.result}`)).toEqual(["button:not-applicable", "camera:fail", "audio:fail"]);
  });
});

/**
 * The self-test checks a kiosk's config calls for, in the order they run (the cheap one first):
 * button circuit, camera, audio path. Shared by the agent's scheduled self-test and the technician's
 * `sos kiosk selftest`.
 *
 * - No media (media.driver "none"): no camera or microphone, both "not applicable".
 * - media.capture "test" (demo): the camera is ffmpeg's test picture and the "microphone" a 1 kHz
 *   sine, with nothing played: a check of the analysis chain, not of hardware.
 * - media.capture "device": the camera's v4l2 input as in a call; the microphone on
 *   media.audioDevice (ffmpeg or arecord); the tone through aplay on audio.device. Without a
 *   speaker (audio.player "none") the audio path cannot be tested: "not applicable".
 */
import type { KioskConfig } from "../../../shared/config/kiosk.js";
import type { ButtonInput } from "../../inputs/button.js";
import { videoInput } from "../../media/wrtc/capture.js";
import { arecordRecorder, AudioCheck, ffmpegRecorder, type Program, RECORD_RATE, TONE_HZ } from "./audio.js";
import { ButtonCheck } from "./button.js";
import { CameraCheck } from "./camera.js";
import { notApplicable, type SelfCheck } from "./check.js";
import type { CommandRunner } from "./runner.js";

export type { SelfCheck } from "./check.js";

export interface CheckDeps {
  readonly runner: CommandRunner;
  /** The button as the agent runs it; the CLI passes a read-only view (or none). */
  readonly button: Pick<ButtonInput, "driver" | "circuit"> | undefined;
}

export function createChecks(config: KioskConfig, deps: CheckDeps): SelfCheck[] {
  const { camera: cameraT, audio: audioT } = config.health.selfTest;
  const checks: SelfCheck[] = [
    deps.button === undefined ? notApplicable("button", "the button line is read by the running agent's daily self-test") : new ButtonCheck(deps.button),
  ];
  const media = config.media;
  if (media.driver === "none") {
    checks.push(notApplicable("camera", "no camera (media.driver is none)"), notApplicable("audio", "no microphone (media.driver is none)"));
    return checks;
  }
  checks.push(new CameraCheck({ ffmpeg: media.ffmpeg, input: videoInput(media, false), fps: media.fps, thresholds: cameraT }, deps.runner));
  if (media.capture === "test") {
    const record = ffmpegRecorder(media.ffmpeg, ["-f", "lavfi", "-i", `sine=frequency=${TONE_HZ}:sample_rate=${RECORD_RATE}`]);
    checks.push(new AudioCheck({ record, play: null, thresholds: audioT }, deps.runner));
  } else if (config.audio.player === "none") {
    checks.push(notApplicable("audio", "no speaker to play the test tone (audio.player is none)"));
  } else {
    const record = audioT.recorder === "arecord" ? arecordRecorder(media.audioDevice) : ffmpegRecorder(media.ffmpeg, ["-f", "alsa", "-i", media.audioDevice]);
    const device = config.audio.device;
    const play: Program = { command: "aplay", args: ["-q", ...(device === undefined ? [] : ["-D", device]), "-"] };
    checks.push(new AudioCheck({ record, play, thresholds: audioT }, deps.runner));
  }
  return checks;
}

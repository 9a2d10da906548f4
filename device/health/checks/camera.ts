/**
 * Camera self-test: one short ffmpeg on the camera's input (the same input arguments as a call's
 * capture) skips `settleFrames` frames while auto-exposure settles, then writes fps+1 frames, scaled
 * to 160×120 luma, on stdout: the first and the last are ~1 s apart. The picture fails as
 *
 * - no picture: ffmpeg failed or gave fewer than two frames (camera missing, busy, unplugged);
 * - black: mean luma ≤ blackLumaMax (lens covered or painted, sensor dead, no light); the outcome
 *   carries the measurement CAMERA_BLACK, so the scheduler can tell "too dark" from the other failures
 *   without reading the text (a black picture in the night run is no verdict: device/health/recheck.ts);
 * - frozen: mean absolute luma difference ≤ frozenDiffMax (a sensor that returns the same picture).
 *
 * The input is a parameter: the e2e tests drive it with ffmpeg's lavfi sources (testsrc2 is live,
 * color=black is black, smptebars is a still picture repeated).
 */
import type { HealthConfig } from "../../../shared/config/kiosk.js";
import { meanAbsDiff, meanLuma } from "./analysis.js";
import type { CheckOutcome, SelfCheck } from "./check.js";
import { type CommandRunner, describeRun } from "./runner.js";

export const FRAME_WIDTH = 160;
export const FRAME_HEIGHT = 120;
const FRAME_BYTES = FRAME_WIDTH * FRAME_HEIGHT;

/** The measurement a black picture carries (1); the only camera failure that light can explain. */
export const CAMERA_BLACK = "black";

export interface CameraCheckOptions {
  readonly ffmpeg: string;
  /** ffmpeg's input arguments: `-f v4l2 … -i /dev/video0`, or a lavfi source. */
  readonly input: readonly string[];
  /** The input's frame rate: fps+1 frames span one second. */
  readonly fps: number;
  readonly thresholds: HealthConfig["selfTest"]["camera"];
}

export function cameraArgs(o: CameraCheckOptions): string[] {
  const { settleFrames } = o.thresholds;
  return [
    "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
    ...o.input,
    "-an",
    "-vf", `select=gte(n\\,${settleFrames}),scale=${FRAME_WIDTH}:${FRAME_HEIGHT},format=gray`,
    "-frames:v", String(o.fps + 1),
    "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
  ];
}

/** Judges the frames ffmpeg wrote (whole 160×120 luma frames; a partial tail is ignored). */
export function judgeFrames(stdout: Buffer, o: Pick<CameraCheckOptions, "fps" | "thresholds">): CheckOutcome | null {
  const count = Math.floor(stdout.length / FRAME_BYTES);
  if (count < 2) return null;
  const first = stdout.subarray(0, FRAME_BYTES);
  const last = stdout.subarray((count - 1) * FRAME_BYTES, count * FRAME_BYTES);
  const luma = (meanLuma(first) + meanLuma(last)) / 2;
  const diff = meanAbsDiff(first, last);
  const apartS = Math.round(((count - 1) / o.fps) * 10) / 10;
  const measurements = { meanLuma: Math.round(luma * 10) / 10, frameDiff: Math.round(diff * 1_000) / 1_000, frames: count, apartS };
  const { blackLumaMax, frozenDiffMax } = o.thresholds;
  if (luma <= blackLumaMax) {
    return { result: "fail", detail: `black picture (mean luma ${measurements.meanLuma} ≤ ${blackLumaMax}): check the lens (covered, painted), the light and the camera`, measurements: { ...measurements, [CAMERA_BLACK]: 1 } };
  }
  if (diff <= frozenDiffMax) {
    return { result: "fail", detail: `frozen picture (frames ${apartS} s apart differ by ${measurements.frameDiff} ≤ ${frozenDiffMax}): the camera repeats one image; replug or replace it`, measurements };
  }
  return { result: "pass", detail: `live picture (mean luma ${measurements.meanLuma}, change ${measurements.frameDiff} over ${apartS} s)`, measurements };
}

export class CameraCheck implements SelfCheck {
  readonly name = "camera" as const;

  constructor(
    private readonly options: CameraCheckOptions,
    private readonly runner: CommandRunner,
  ) {}

  async run(signal: AbortSignal): Promise<CheckOutcome> {
    const o = this.options;
    const maxStdoutBytes = (o.fps + 2) * FRAME_BYTES;
    const r = await this.runner.run(o.ffmpeg, cameraArgs(o), { timeoutMs: o.thresholds.timeoutMs, signal, maxStdoutBytes });
    if (r.failure === "aborted") return { result: "fail", detail: "aborted" };
    const verdict = judgeFrames(r.stdout, o);
    if (verdict !== null) return verdict;
    return { result: "fail", detail: `no picture: ${describeRun(o.ffmpeg, r)}; check the camera cable and that no other program holds it`, measurements: { frames: Math.floor(r.stdout.length / FRAME_BYTES) } };
  }
}

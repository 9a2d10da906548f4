/**
 * The camera still sent to the operators at a press, before anyone answers. Taking it is bounded:
 * a camera that hangs costs the ring a few seconds, never more.
 */
import type { Logger } from "pino";
import type { Snapshot } from "../../shared/call.js";
import type { Clock } from "../../shared/clock.js";
import type { MediaSession } from "../media/media.js";

/** The ring waits at most this long for the camera. */
export const SNAPSHOT_TIMEOUT_MS = 5_000;
/** The contract's limit on the base64 JPEG (about 190 KB of image). */
export const MAX_SNAPSHOT_BASE64 = 262_144;

export class SnapshotTaker {
  media: MediaSession | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** One still from the media, or null (no camera, no media yet, too slow, too big, an error). */
  async take(alertId: string): Promise<Snapshot | null> {
    const media = this.media;
    if (media === undefined) {
      this.log.info({ alertId }, "no snapshot: media not started yet");
      return null;
    }
    const started = this.clock.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), SNAPSHOT_TIMEOUT_MS)));
    try {
      const jpeg = await Promise.race([media.snapshot(), timeout]);
      if (jpeg === "timeout") {
        this.log.warn({ alertId, timeoutMs: SNAPSHOT_TIMEOUT_MS }, "no snapshot: the camera did not answer in time");
        return null;
      }
      if (jpeg === null) {
        this.log.info({ alertId }, "no snapshot: the media has no picture");
        return null;
      }
      const data = jpeg.toString("base64");
      if (data.length > MAX_SNAPSHOT_BASE64) {
        this.log.warn({ alertId, bytes: jpeg.length, maxBase64: MAX_SNAPSHOT_BASE64 }, "no snapshot: the picture is too large for the contract");
        return null;
      }
      this.log.info({ alertId, bytes: jpeg.length, tookMs: this.clock.now().getTime() - started.getTime() }, "snapshot taken");
      return { v: 1, alertId, takenAt: this.clock.now().toISOString(), contentType: "image/jpeg", data };
    } catch (err) {
      this.log.warn({ alertId, err: { message: (err as Error).message } }, "no snapshot: the media failed to take one");
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

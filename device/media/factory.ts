/**
 * Builds the media session named in kiosk.json. The WebRTC implementation is imported only when it
 * is configured, so a stdin or laptop kiosk never loads wrtc (nor its child-process supervisor).
 */
import type { Logger } from "pino";
import type { MediaConfig, WrtcMediaConfig } from "../../shared/config/kiosk.js";
import type { MediaSession } from "./media.js";
import { NullMedia } from "./none.js";

/** The part of ./wrtc/wrtc-media.js used here. */
export interface WrtcMediaModule {
  readonly WrtcMedia: new (config: WrtcMediaConfig, log: Logger) => MediaSession;
}

/** Loads the WebRTC media module (which itself leaves wrtc to its child process). */
const loadWrtcMedia = (): Promise<WrtcMediaModule> => import("./wrtc/wrtc-media.js");

export interface CreateMediaOptions {
  /** How the wrtc module is loaded (tests replace it). */
  readonly loadWrtc?: () => Promise<WrtcMediaModule>;
}

export async function createMedia(config: MediaConfig, log: Logger, options: CreateMediaOptions = {}): Promise<MediaSession> {
  switch (config.driver) {
    case "none":
      return new NullMedia(log);
    case "wrtc": {
      const { WrtcMedia } = await (options.loadWrtc ?? loadWrtcMedia)();
      return new WrtcMedia(config, log);
    }
  }
}

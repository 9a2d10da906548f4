/**
 * Wires the call feature: the call manager now (it must hear every alarm), the media session
 * later and in the background. Nothing here is awaited by the alert path: media that is slow to
 * load, fails to start or never exists leaves the kiosk raising and sending alarms as before.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { EventBus } from "../../shared/events.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import type { MediaSession } from "../media/media.js";
import { within } from "../lib/within.js";
import { CallManager } from "./call-manager.js";

/** How long stop() waits for the media to finish starting, and then to stop. */
const STOP_WAIT_MS = 3_000;

export interface CallDeps {
  readonly bus: EventBus<KioskEvents>;
  readonly player: PromptPlayer;
  readonly clock: Clock;
  readonly log: Logger;
  /** Default: the driver named in the config. Tests pass a fake behind the MediaSession port. */
  readonly media?: MediaSession;
  /** An alarm still open from before a restart. */
  readonly openAlertId: string | null;
}

export interface Calls {
  readonly manager: CallManager;
  /** Creates and starts the media session once `after` settles (the link module is loaded). */
  startMedia(after: Promise<unknown>): void;
  /** Hangs up (while the link can still say so), then stops the media. */
  stop(): Promise<void>;
}

export function startCalls(config: KioskConfig, deps: CallDeps): Calls {
  const log = deps.log;
  const manager = new CallManager({
    bus: deps.bus,
    player: deps.player,
    clock: deps.clock,
    log: log.child({ subsystem: "calls" }),
    iceServers: config.media.driver === "wrtc" ? config.media.iceServers : [],
  });
  if (deps.openAlertId !== null) manager.resume(deps.openAlertId);

  let media: MediaSession | undefined;
  let stopping = false;
  let started: Promise<void> = Promise.resolve();
  return {
    manager,
    startMedia(after) {
      started = after
        .catch(() => undefined)
        .then(async () => {
          if (stopping) return;
          const mediaLog = log.child({ subsystem: "media" });
          const session = deps.media ?? (await (await import("../media/factory.js")).createMedia(config.media, mediaLog));
          if (stopping) return;
          media = session;
          manager.attachMedia(session);
          await session.start();
          log.info({ driver: config.media.driver }, "media started");
        })
        .catch((err: unknown) => log.error({ err, driver: config.media.driver }, "media failed to start: calls are unavailable, alarms are not affected"));
    },
    async stop() {
      stopping = true;
      await manager.stop();
      // A media session still starting is stopped all the same: its start may never finish, and
      // neither may a stop of a wedged one. The kiosk's shutdown waits for neither beyond a bound.
      if (!(await within(started, STOP_WAIT_MS))) log.warn({ waitedMs: STOP_WAIT_MS }, "media still starting at stop: stopping it anyway");
      const session = media;
      if (session === undefined) return;
      const stopped = session.stop().catch((err: unknown) => log.warn({ err }, "media did not stop cleanly"));
      if (!(await within(stopped, STOP_WAIT_MS))) log.error({ waitedMs: STOP_WAIT_MS }, "media did not stop in time: leaving it");
    },
  };
}

/**
 * The kiosk's side of a call with an operator (see shared/call.ts for the messages). One call per
 * kiosk at a time, for the alarm that is open:
 *
 *   alarm raised ─▶ snapshot (if the camera gives one) ─▶ ring, repeated every RING_INTERVAL_MS
 *   accept ─▶ "connecting" prompt, media.startCall ─▶ offer and local ICE go up; answer and remote
 *   ICE go to the media ─▶ state connected (green light) ─▶ ended or failed (green light off).
 *
 * A call that fails (no media, media process lost, never connected) leaves the kiosk callable: it
 * rings again under a new callId as soon as its media is ready; so does a call whose operator's page
 * went away (a hangup with `cause: "page-gone"`: a reload, a closed tab; or the page's media closed
 * with no hangup from the operator within REMOTE_GONE_GRACE_MS). A call the operator or the kiosk
 * ended does not ring again. Closing the alarm hangs up. Nothing here is on the alert path: the alarm is recorded
 * and handed to delivery before this module hears of it, and media or link failures only log.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { CallDown, CallState } from "../../shared/call.js";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import type { IceServer, MediaSession } from "../media/media.js";
import { CallChannel, type CallLink } from "./channel.js";
import { type Active, type CallStatus, IDLE, type Phase, type Ringing } from "./phase.js";
import { SnapshotTaker } from "./snapshot.js";

export type { CallLink } from "./channel.js";
export type { CallStatus } from "./phase.js";

/** A ring is published again this often while nobody has answered (for operator pages opened late). */
export const RING_INTERVAL_MS = 5_000;
/**
 * A ring stops being repeated after this long (120 rings); its callId can still be accepted until
 * the alarm is closed. The alarm itself is on every operator's screen through the alert path.
 */
export const RING_FOR_MS = 10 * 60_000;
/** An accepted call that is not connected by then is hung up and reported failed. */
export const CONNECT_TIMEOUT_MS = 45_000;
/**
 * A call whose media the operator's side closed without a hangup (yet): a page reloaded or closed
 * mid-call closes its peer connection at once, and its hangup on MQTT may come later or never. The
 * kiosk rings again after this long unless the operator's own hangup (not "page-gone") arrives.
 */
export const REMOTE_GONE_GRACE_MS = 2_000;

export interface CallManagerDeps {
  readonly bus: EventBus<KioskEvents>;
  readonly player: PromptPlayer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly iceServers: readonly IceServer[];
  readonly connectTimeoutMs?: number;
}

export class CallManager {
  private media: MediaSession | undefined;
  private mediaReady = false;
  private readonly channel: CallChannel;
  private phase: Phase = IDLE;
  /** The kiosk's open alarm, as far as calls are concerned. */
  private openAlertId: string | null = null;
  /** A call failed while the alarm is open: ring again once the media is ready. */
  private ringWhenReady = false;
  /** A call the operator's side closed without a word: rung again when the timer fires (see REMOTE_GONE_GRACE_MS). */
  private remoteGone: { readonly callId: string; readonly timer: NodeJS.Timeout } | undefined;
  private stopped = false;
  private readonly snapshots: SnapshotTaker;
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly deps: CallManagerDeps) {
    this.snapshots = new SnapshotTaker(deps.clock, deps.log);
    this.channel = new CallChannel(deps.log);
    this.unsubscribe = [
      deps.bus.on("alarm.raised", "calls", ({ alert }) => this.onAlarmRaised(alert.alertId)),
      deps.bus.on("alarm.closed", "calls", () => this.onAlarmClosed()),
    ];
  }

  get status(): CallStatus {
    const p = this.phase;
    if (p.kind === "idle") return { phase: "idle", mediaReady: this.mediaReady };
    return { phase: p.kind, callId: p.callId, alertId: p.alertId, connected: p.kind === "active" && p.connected, mediaReady: this.mediaReady };
  }

  /** An alarm still open from before a restart: ring for it (there is no snapshot of that press). */
  resume(alertId: string): void {
    this.openAlertId = alertId;
    this.ring(alertId).announced = true;
  }

  attachMedia(media: MediaSession): void {
    this.media = media;
    this.snapshots.media = media;
    media.on("offer", ({ callId, sdp }) => {
      const call = this.current(callId);
      if (call !== undefined) void this.channel.send({ v: 1, type: "offer", callId, sdp, operator: call.operator, pageId: call.pageId });
    });
    media.on("ice", ({ callId, candidate }) => {
      if (this.current(callId) !== undefined) void this.channel.send({ v: 1, type: "ice", callId, candidate });
    });
    media.on("state", ({ callId, state, reason }) => this.onMediaState(callId, state, reason));
    media.on("ready", () => this.onMediaReady());
    media.on("lost", ({ reason }) => {
      this.mediaReady = false;
      this.deps.log.error({ reason, callId: this.phase.kind === "active" ? this.phase.callId : null }, "media lost: calls fail until it is ready again");
      const call = this.phase;
      if (call.kind === "active") this.finish(call, "failed", `media lost: ${reason}`);
    });
  }

  attachLink(link: CallLink): void {
    this.channel.attach(link);
  }

  /** The link (re)connected: the snapshot still owed, then the ring, go out now. */
  onLinkUp(): void {
    this.channel.flush();
    const p = this.phase;
    if (p.kind === "ringing" && p.announced) this.publishRing(p);
    // The media went on without MQTT: the gateway (which then asks again) hears the call is still up.
    if (p.kind === "active" && p.connected) void this.channel.send({ v: 1, type: "state", callId: p.callId, state: "connected", operator: p.operator, alertId: p.alertId });
  }

  onCallDown(msg: CallDown): void {
    if (this.stopped) return;
    const { log } = this.deps;
    switch (msg.type) {
      case "accept":
        return this.onAccept(msg.callId, msg.operator, msg.pageId);
      case "answer": {
        const call = this.fromAcceptingPage(msg.callId, msg.pageId);
        if (call === undefined) return void log.debug({ callId: msg.callId }, "answer for no current call ignored");
        if (call.answered) return void log.warn({ callId: msg.callId }, "second answer for the call ignored");
        call.answered = true;
        return this.media?.acceptAnswer(msg.callId, msg.sdp);
      }
      case "ice":
        if (this.fromAcceptingPage(msg.callId, msg.pageId) !== undefined) this.media?.addRemoteIce(msg.callId, msg.candidate);
        return;
      case "hangup": {
        if (this.remoteGone?.callId === msg.callId) {
          // The media ended first; the hangup says whether the operator meant it.
          if (msg.cause !== "page-gone") this.cancelRemoteGone();
          return void log.info({ callId: msg.callId, reason: msg.reason, cause: msg.cause }, "operator hangup after the call's media ended");
        }
        const call = this.fromAcceptingPage(msg.callId, msg.pageId);
        if (call === undefined) return void log.info({ callId: msg.callId, reason: msg.reason }, "operator hangup for no current call (a dismissed ring keeps ringing for others)");
        this.media?.hangup(call.callId);
        // The operator's page went away mid-call (a reload, a closed tab): the caller is still there.
        if (msg.cause === "page-gone") return this.finish(call, "ended", `operator's page closed: ${msg.reason}`, { ringAgain: true });
        return this.finish(call, "ended", `operator hung up: ${msg.reason}`);
      }
    }
  }

  /** Hangs up (telling the operators) and stops ringing; waits a moment for the hangup to go out. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelRemoteGone();
    for (const off of this.unsubscribe) off();
    const sent = this.hangUp("kiosk shutting down");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sent, new Promise((r) => (timer = setTimeout(r, 1_000)))]);
    clearTimeout(timer);
  }

  private onAlarmRaised(alertId: string): void {
    this.openAlertId = alertId;
    this.ringWhenReady = false;
    this.cancelRemoteGone();
    // A turn of the event loop later: the alert is recorded, handed to delivery and on the wire first.
    setImmediate(() => void this.afterAlarm(alertId));
  }

  private async afterAlarm(alertId: string): Promise<void> {
    if (this.stopped || this.openAlertId !== alertId) return;
    const { log } = this.deps;
    const busy = this.phase.kind === "active";
    if (busy) log.info({ alertId, callId: this.phase.kind === "active" ? this.phase.callId : null }, "new alarm during a call: the call goes on");
    const ring = busy ? undefined : this.ring(alertId);
    const snapshot = await this.snapshots.take(alertId);
    if (snapshot !== null) this.channel.sendSnapshot(snapshot);
    if (ring !== undefined && this.phase === ring) {
      ring.announced = true;
      this.publishRing(ring);
    }
  }

  private onAlarmClosed(): void {
    this.openAlertId = null;
    this.ringWhenReady = false;
    this.cancelRemoteGone();
    void this.hangUp("alarm closed");
  }

  /** Starts ringing under a new callId (replacing a ring for an older alarm). */
  private ring(alertId: string): Ringing {
    const old = this.phase;
    if (old.kind === "ringing") {
      clearTimeout(old.timer);
      void this.channel.send({ v: 1, type: "hangup", callId: old.callId, reason: "superseded by a new alarm" });
    }
    const ring: Ringing = { kind: "ringing", callId: randomUUID(), alertId, at: this.deps.clock.now(), announced: false, timer: undefined };
    this.phase = ring;
    this.deps.log.info({ callId: ring.callId, alertId }, "ringing the operators");
    return ring;
  }

  private publishRing(ring: Ringing): void {
    clearTimeout(ring.timer);
    ring.timer = undefined;
    if (this.phase !== ring || this.stopped) return;
    const elapsedMs = this.deps.clock.now().getTime() - ring.at.getTime();
    if (elapsedMs >= RING_FOR_MS) {
      this.deps.log.warn({ callId: ring.callId, alertId: ring.alertId, elapsedMs }, "nobody answered the ring: no longer repeated (the call can still be accepted)");
      return;
    }
    void this.channel.send({ v: 1, type: "ring", callId: ring.callId, alertId: ring.alertId, at: ring.at.toISOString() });
    ring.timer = setTimeout(() => this.publishRing(ring), RING_INTERVAL_MS);
  }

  /** The current call, if this message comes from the page that accepted it (or names no page). */
  private fromAcceptingPage(callId: string, pageId: string | undefined): Active | undefined {
    const call = this.current(callId);
    if (call === undefined || pageId === undefined || call.pageId === undefined || call.pageId === pageId) return call;
    this.deps.log.warn({ callId, pageId, acceptedBy: call.pageId }, "call message from a page that did not accept the call: ignored");
    return undefined;
  }

  private onAccept(callId: string, operator: string, pageId: string | undefined): void {
    const { log } = this.deps;
    const p = this.phase;
    if (p.kind === "active") {
      if (p.callId === callId) return void log.warn({ callId, operator, answeredBy: p.operator }, "call already accepted: accept ignored");
      log.warn({ callId, operator, activeCallId: p.callId }, "accept while another call is active: busy");
      return void this.channel.send({ v: 1, type: "hangup", callId, reason: "busy" });
    }
    if (p.kind !== "ringing" || p.callId !== callId) {
      log.warn({ callId, operator, ringing: p.kind === "ringing" ? p.callId : null }, "accept for a call that is not ringing: refused");
      return void this.channel.send({ v: 1, type: "hangup", callId, reason: "no such call" });
    }
    clearTimeout(p.timer);
    const media = this.media;
    if (media === undefined || !this.mediaReady) {
      // Taken and failed at once; the kiosk rings again (new callId) when its media is ready.
      log.warn({ callId, operator }, "call accepted while the media is not ready: failed");
      this.phase = IDLE;
      this.ringWhenReady = true;
      void this.channel.send({ v: 1, type: "state", callId, state: "failed", reason: "the kiosk's call hardware is starting or restarting; it will ring again" });
      return this.ringAgainIfDue();
    }
    const call: Active = { kind: "active", callId, alertId: p.alertId, operator, pageId, connected: false, answered: false, timer: undefined };
    this.phase = call;
    const timeoutMs = this.deps.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    call.timer = setTimeout(() => {
      media.hangup(callId);
      this.finish(call, "failed", `not connected within ${Math.round(timeoutMs / 1_000)} s`);
    }, timeoutMs);
    log.info({ callId, alertId: call.alertId, operator }, "call accepted");
    this.deps.player.play("connecting");
    void this.channel.send({ v: 1, type: "state", callId, state: "connecting", operator, pageId });
    try {
      media.startCall(callId, this.deps.iceServers);
    } catch (err) {
      this.finish(call, "failed", `media could not start the call: ${(err as Error).message}`);
    }
  }

  private onMediaState(callId: string, state: CallState, reason: string | undefined): void {
    const call = this.current(callId);
    if (call === undefined) return void this.deps.log.debug({ callId, state }, "media state for no current call ignored");
    if (state === "connected" && !call.connected) {
      call.connected = true;
      clearTimeout(call.timer);
      this.deps.log.info({ callId, alertId: call.alertId, operator: call.operator }, "call connected");
      void this.channel.send({ v: 1, type: "state", callId, state: "connected" });
      this.deps.bus.emit("call.connected", { alertId: call.alertId, callId });
    } else if (state === "failed") {
      this.finish(call, state, reason ?? "media failed");
    } else if (state === "ended") {
      // Not the kiosk's hangup (that leaves no current call): the operator's side closed the media.
      this.finish(call, state, reason ?? "call ended", { ringAgain: false });
      if (this.openAlertId === null || this.stopped) return;
      const timer = setTimeout(() => {
        this.remoteGone = undefined;
        this.deps.log.info({ callId, alertId: call.alertId }, "the operator's side closed the call without hanging up: ringing again");
        this.ringWhenReady = true;
        this.ringAgainIfDue();
      }, REMOTE_GONE_GRACE_MS);
      this.cancelRemoteGone();
      this.remoteGone = { callId, timer };
    }
  }

  private cancelRemoteGone(): void {
    clearTimeout(this.remoteGone?.timer);
    this.remoteGone = undefined;
  }

  private onMediaReady(): void {
    this.mediaReady = true;
    this.deps.log.info({ ringAgain: this.ringWhenReady }, "media ready");
    this.ringAgainIfDue();
  }

  /** After a failed call: a new ring (new callId) for the open alarm, once the media can take it. */
  private ringAgainIfDue(): void {
    if (!this.ringWhenReady || !this.mediaReady || this.phase.kind !== "idle" || this.openAlertId === null || this.stopped) return;
    this.ringWhenReady = false;
    const ring = this.ring(this.openAlertId);
    ring.announced = true;
    this.publishRing(ring);
  }

  /**
   * The call is over: tell the operators and the kiosk; after a failure (or `ringAgain`: the operator's
   * page went away), ring again while the alarm is open.
   */
  private finish(call: Active, state: "ended" | "failed", reason: string, { ringAgain = state === "failed" } = {}): void {
    if (this.phase !== call) return;
    clearTimeout(call.timer);
    this.phase = IDLE;
    const level = state === "failed" ? "warn" : "info";
    this.deps.log[level]({ callId: call.callId, alertId: call.alertId, state, reason, wasConnected: call.connected }, "call over");
    void this.channel.send({ v: 1, type: "state", callId: call.callId, state, reason: reason.slice(0, 500) });
    this.deps.bus.emit("call.ended", { alertId: call.alertId, callId: call.callId, reason });
    if (ringAgain && this.openAlertId !== null && !this.stopped) {
      this.ringWhenReady = true;
      // A tick later: a media whose process died reports its calls failed, then `lost`, in one go.
      setImmediate(() => this.ringAgainIfDue());
    }
  }

  /** The kiosk ends what it has going: a ring is withdrawn, a call is hung up. */
  private hangUp(reason: string): Promise<void> {
    const p = this.phase;
    if (p.kind === "idle") return Promise.resolve();
    if (p.kind === "ringing") {
      clearTimeout(p.timer);
      this.phase = IDLE;
      this.deps.log.info({ callId: p.callId, alertId: p.alertId, reason }, "ring withdrawn");
      return this.channel.send({ v: 1, type: "hangup", callId: p.callId, reason });
    }
    this.media?.hangup(p.callId);
    const sent = this.channel.send({ v: 1, type: "hangup", callId: p.callId, reason });
    this.finish(p, "ended", reason);
    return sent;
  }

  private current(callId: string): Active | undefined {
    const p = this.phase;
    return p.kind === "active" && p.callId === callId ? p : undefined;
  }
}

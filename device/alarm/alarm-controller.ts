/**
 * Decides what a press means: a new alarm, or one more press on the alarm that is still open
 * (coalesced, and sent at most every updateIntervalMs, so a child pressing ten times does not flood
 * the centre). A bypass hold always raises a new alarm. Every alert goes through the durable outbox.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { agentVersion } from "../../shared/agent-version.js";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { Alert, AlertKind, KioskState } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { KioskEvents } from "../events.js";
import type { Outbox } from "../link/outbox.js";
import type { PressKind } from "../press/press-rules.js";
import type { OpenAlarm, OpenAlarmFile } from "./open-alarm.js";

/** The running release's version (its release.json), carried by every alert and heartbeat: read once at start. */
export const AGENT_VERSION: string = agentVersion();

export interface AlarmDeps {
  readonly outbox: Outbox;
  readonly stateFile: OpenAlarmFile;
  readonly bus: EventBus<KioskEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  /** What the tamper and power sensors say now. */
  readonly sensors: () => KioskState;
}

export class AlarmController {
  private open: OpenAlarm | null;
  private updateTimer: NodeJS.Timeout | undefined;
  private lastUpdateAt = 0;
  /** The open alarm's id once the gateway refused it: it takes no more presses (onRefused). */
  private refusedId: string | undefined;
  /** A raise's state write and listeners, waiting for its packet to leave (see raise()). */
  private raising: { readonly alertId: string; readonly handle: NodeJS.Immediate } | undefined;
  /** Set by the composition root once the link is wired: sends an alert now if it can. */
  submit: (alert: Alert) => void = () => undefined;

  constructor(
    private readonly config: KioskConfig,
    private readonly deps: AlarmDeps,
  ) {
    this.open = this.restore();
    this.sendCountedPresses(this.open);
  }

  /**
   * Presses counted on the open alarm are saved in its state at once but sent at most every
   * updateIntervalMs: a power cut in between would keep them from the centre. At start, an open alarm
   * with counted presses that the outbox does not hold at that count is queued again (the gateway
   * takes the higher count, or answers a duplicate).
   */
  private sendCountedPresses(open: OpenAlarm | null): void {
    if (open === null) return;
    const count = open.alert.pressCount ?? 1;
    if (count <= 1 || (this.deps.outbox.get(open.alert.alertId)?.alert.pressCount ?? 1) >= count) return;
    this.deps.outbox.append(open.alert);
    this.deps.log.info({ alertId: open.alert.alertId, pressCount: count }, "open alarm's press count queued again at start: presses counted before the agent stopped reach the centre");
  }

  /**
   * The open alarm at start: the saved state, unless the outbox holds a newer SOS alert of this kiosk
   * still waiting for its ack. That one is the open alarm whose state a power cut kept from being written (a raise
   * sends first and writes its state after, raise()), unless the centre closed it already.
   */
  private restore(): OpenAlarm | null {
    const saved = this.deps.stateFile.load();
    // This kiosk's own: a box re-provisioned under a new id still sends what the old id left, and the gateway refuses it.
    const waiting = this.deps.outbox.pending().filter((alert) => alert.kind === "sos" && alert.kioskId === this.config.kioskId).at(-1);
    if (waiting === undefined || waiting.alertId === saved?.alert.alertId) return saved;
    const pressed = Date.parse(waiting.pressedAt);
    if (saved !== null && pressed <= Date.parse(saved.openedAt)) return saved;
    const closed = this.deps.stateFile.lastClosed();
    if (closed !== null && (closed.alertId === waiting.alertId || pressed <= Date.parse(closed.pressedAt))) return saved;
    const open: OpenAlarm = { alert: waiting, openedAt: waiting.pressedAt, received: false };
    this.deps.stateFile.save(open);
    this.deps.log.warn({ alertId: waiting.alertId, replaces: saved?.alert.alertId ?? null }, "open alarm restored from the outbox: its state had not been written when the agent stopped");
    return open;
  }

  get openAlarm(): OpenAlarm | null {
    return this.open;
  }

  onPress(kind: PressKind, at: Date): void {
    this.finishRaise();
    const open = this.open;
    // An alarm opened "after" this press (the clock went back, or was wrong when it opened) is not
    // fresh: its age is unknown, and a new alarm is safer than presses lost in an old one.
    const age = open === null ? Number.NaN : at.getTime() - Date.parse(open.openedAt);
    const fresh = open !== null && age >= 0 && age < this.config.press.reopenAfterMs;
    const refused = open !== null && open.alert.alertId === this.refusedId;
    if (kind === "press" && this.config.press.coalesceWhileOpen && open !== null && fresh && !refused) {
      this.countPress(open, at);
      return;
    }
    if (refused) this.deps.log.warn({ alertId: open.alert.alertId }, "the gateway refused the open alarm: this press raises a new one");
    if (kind === "bypass") this.deps.log.warn({ holdMs: this.config.press.bypassHoldMs }, "button held past the bypass time: raising a new alarm");
    this.raise("sos", kind === "bypass" ? "hold-bypass" : "button", at);
  }

  /** Records and sends a new alert. An `sos` alert becomes the open alarm; a `test` alert does not. */
  raise(kind: AlertKind, trigger: NonNullable<Alert["trigger"]>, at: Date = this.deps.clock.now()): Alert {
    this.finishRaise();
    const started = performance.now();
    const sensors = this.deps.sensors();
    const alert: Alert = {
      v: 1,
      alertId: randomUUID(),
      kioskId: this.config.kioskId,
      kind,
      pressedAt: at.toISOString(),
      location: { ...this.config.location },
      agentVersion: AGENT_VERSION,
      trigger,
      pressCount: 1,
      ...(Object.keys(sensors).length > 0 ? { kioskState: sensors } : {}),
    };
    const durable = this.deps.outbox.append(alert);
    const recordMs = performance.now() - started;
    this.deps.log.info({ alertId: alert.alertId, kind, trigger, durable, recordMs: Math.round(recordMs * 100) / 100 }, "alert recorded");
    this.deps.bus.emit("alert.recorded", { alert, durable, recordMs });
    if (kind === "sos") {
      // The alarm this one replaces (a bypass) still gets its last press count out.
      if (this.updateTimer !== undefined) this.flushUpdate();
      // The raise is this alarm's first send: press-count updates follow at most every updateIntervalMs.
      this.lastUpdateAt = this.deps.clock.now().getTime();
      this.open = { alert, openedAt: alert.pressedAt, received: false };
    }
    // Sent as soon as it is on disk. The open-alarm state (two more fsyncs on the SD card) and what
    // listens to the raise (the lights, the call's snapshot and ring) come after its packet has left:
    // mqtt.js writes a packet to the socket on the next tick (mqtt-packet corks the socket until then),
    // so they wait for the check phase (setImmediate), after every tick and promise of this one. Anything
    // else that happens to this alarm first (an ack, a close, a press) finishes them before it acts.
    if (kind === "sos") this.raising = { alertId: alert.alertId, handle: setImmediate(() => this.finishRaise()) };
    this.submit(alert);
    return alert;
  }

  /** Writes the raised alarm's state and tells the listeners, if a raise is still waiting to. */
  private finishRaise(): void {
    const raising = this.raising;
    if (raising === undefined) return;
    this.raising = undefined;
    clearImmediate(raising.handle);
    const open = this.open;
    if (open?.alert.alertId !== raising.alertId) return;
    this.deps.stateFile.save(open);
    this.deps.bus.emit("alarm.raised", { alert: open.alert });
  }

  /** The gateway acknowledged an alert. */
  onAcked(alertId: string): void {
    this.finishRaise();
    const open = this.open;
    if (open === null || open.alert.alertId !== alertId || open.received) return;
    this.open = { ...open, received: true };
    this.deps.stateFile.save(this.open);
    this.deps.bus.emit("alarm.received", { alertId });
  }

  /**
   * The gateway refused an alert (an error ack: it stays in the outbox and is retried). When it is the
   * open alarm, presses no longer count on it: each would be refused with it. The next press raises a
   * new alarm, with a new alertId, which the gateway may well take.
   */
  onRefused(alertId: string): void {
    this.finishRaise();
    if (this.open?.alert.alertId === alertId) this.refusedId = alertId;
  }

  /** The centre closed an alarm. Returns whether it was this kiosk's open alarm. */
  onClosed(alertId: string, outcome: string): boolean {
    this.finishRaise();
    if (this.open === null || this.open.alert.alertId !== alertId) return false;
    this.clearUpdate();
    const { alert } = this.open;
    this.open = null;
    this.deps.stateFile.saveClosed({ alertId, pressedAt: alert.pressedAt });
    this.deps.log.info({ alertId, outcome }, "alarm closed by the centre");
    this.deps.bus.emit("alarm.closed", { alertId, outcome });
    return true;
  }

  stop(): void {
    this.finishRaise();
    this.clearUpdate();
  }

  private countPress(open: OpenAlarm, at: Date): void {
    const pressCount = (open.alert.pressCount ?? 1) + 1;
    this.open = { ...open, alert: { ...open.alert, pressCount, lastPressAt: at.toISOString() } };
    this.deps.stateFile.save(this.open);
    this.deps.log.info({ alertId: open.alert.alertId, pressCount }, "press counted on the open alarm");
    this.deps.bus.emit("alarm.press-counted", { alertId: open.alert.alertId, pressCount });
    if (this.updateTimer !== undefined) return; // an update is already due; it will carry this count
    // Bounded by the interval: a clock that went back must not put the update off (or overflow the timer).
    const wait = Math.min(this.config.press.updateIntervalMs, Math.max(0, this.lastUpdateAt + this.config.press.updateIntervalMs - this.deps.clock.now().getTime()));
    this.updateTimer = setTimeout(() => this.flushUpdate(), wait);
  }

  /** Sends the open alarm again, with its press count, through the outbox. */
  private flushUpdate(): void {
    this.updateTimer = undefined;
    const open = this.open;
    if (open === null) return;
    this.lastUpdateAt = this.deps.clock.now().getTime();
    this.deps.outbox.append(open.alert);
    this.submit(open.alert);
  }

  private clearUpdate(): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
  }
}

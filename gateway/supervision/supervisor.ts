/**
 * One state per kiosk, kept in memory and decided at once on each event — never by a periodic sweep:
 * - connected (MQTT CONNECT accepted): the kiosk is alive; a silence timer starts;
 * - a heartbeat: alive, its components re-read, the silence timer re-armed for
 *   missedBeats × its intervalS + grace (a connected kiosk that never beats times out the same way,
 *   on the default interval);
 * - disconnected (socket drop, last will, clean stop): offline at once, reason `connection-lost`, or
 *   `shutdown` when the kiosk said so (retained status) before it went;
 * - the silence timer fires: offline, reason `heartbeats-missed` (the socket may still be open);
 * - a test alert stored: the test-alarm component is re-read;
 * - decommissioned / back in service (the registry, read by SupervisionFeature).
 * A change of state, or of the failing components, is a transition: stored, logged, announced on
 * the bus and to operations. While offline, a reminder goes to operations every offlineReminderMs.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import { heartbeatSchema, statusSchema } from "../../shared/health.js";
import { type KioskStateName, kioskStateNames } from "../../shared/ops.js";
import type { GatewayEvents } from "../events.js";
import type { KioskHealthRow } from "../store/health-store.js";
import {
  HEARTBEAT_INVALID,
  heartbeatComponents,
  sameComponents,
  silenceTimeoutMs,
  stateOf,
  type SupervisionRules,
  TEST_ALARM_OVERDUE,
  testAlarmOverdue,
} from "./rules.js";
import { BEAT_BURST, newWatch, safeJson, type Watch } from "./watch.js";
import { type Ownership, OwnershipGate } from "./ownership.js";
import type { SupervisionWriter } from "./writer.js";
import type { StallWatch } from "./stall.js";
import type { Supervised } from "../cluster/kiosk-owners.js";

export type { Ownership } from "./ownership.js";

export interface SupervisorOptions extends SupervisionRules {
  readonly offlineReminderMs: number;
  readonly restoreGraceMs: number;
  readonly maxHeartbeatBytes: number;
  /** online↔degraded changes at most once per this long (offline never waits); 0: at once. */
  readonly settleMs: number;
  readonly maxHeartbeatsPerMinute: number;
  /** A silence timer firing later than this (or after a stall this long) waits one more timeout. */
  readonly stallThresholdMs?: number;
}

const ALIVE: readonly KioskStateName[] = ["online", "degraded"];
const LOG_EVERY_MS = 60_000;

export interface SupervisorDeps {
  readonly writer: SupervisionWriter;
  readonly bus: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Whether the broker holds a live connection for the kiosk (a disconnect of an old one is then ignored). */
  readonly isConnected: (kioskId: string) => boolean;
  /** The gateway's own stalls: a kiosk is not declared silent for heartbeats the gateway did not read. */
  readonly stalls?: StallWatch;
  /** A cluster: which gateway process supervises each kiosk (cluster/kiosk-owners.ts). None: this one supervises all. */
  readonly ownership?: Ownership;
}

export interface KioskView {
  readonly kioskId: string;
  readonly state: KioskStateName;
  readonly since: string;
  readonly reason: string;
  readonly components: readonly string[];
  readonly reminders: number;
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

/** A kiosk taken over after its last heartbeat's timeout has passed goes offline this soon (not at once: it may be reconnecting). */
const MIN_ADOPTED_SILENCE_MS = 1_000;

export class KioskSupervisor implements Supervised {
  private readonly watches = new Map<string, Watch>();
  private stopped = false;
  private readonly owning: boolean;
  private readonly gate: OwnershipGate;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly deps: SupervisorDeps,
  ) {
    this.owning = deps.ownership !== undefined;
    this.gate = new OwnershipGate(deps.ownership, {
      stopped: () => this.stopped,
      release: (w) => this.release(w),
      restore: (w, row) => this.restore(w, row, this.now()),
      log: deps.log,
    });
  }

  /**
   * Restores the stored states at start; kiosks stored alive get their silence timer (at least
   * restoreGraceMs). In a cluster, no kiosk is this process's yet: each is claimed by its next
   * connection here, or taken over (adopt) from a node that stopped beating.
   */
  load(rows: readonly KioskHealthRow[]): void {
    const now = this.now();
    for (const row of rows) {
      const w = this.add(row.kioskId, now);
      this.restore(w, row, now);
      if (w.owned) this.resume(w, now, Math.max(silenceTimeoutMs(w.intervalS, this.options), this.options.restoreGraceMs));
    }
  }

  /**
   * Takes over a kiosk whose node stopped beating (cluster/kiosk-owners.ts): its stored state, its
   * silence timer running from its last stored heartbeat, its offline reminders on their grid.
   */
  adopt(row: KioskHealthRow): void {
    if (this.stopped) return;
    const now = this.now();
    const w = this.watch(row.kioskId);
    // Already supervised here (a claim the store missed): what this process knows is newer.
    if (w.owned) return;
    this.restore(w, row, now);
    w.owned = true;
    const timeout = silenceTimeoutMs(w.intervalS, this.options);
    const lastSeen = ms(row.lastHeartbeatAt) ?? w.since;
    this.resume(w, now, Math.max(MIN_ADOPTED_SILENCE_MS, lastSeen + timeout - now));
  }

  /** The kiosks this process supervises (in a cluster); `all` false: only those it holds offline, whose owner may change with no connection closing here. */
  supervised(all: boolean): string[] {
    const ids: string[] = [];
    for (const w of this.watches.values()) if (w.owned && w.held === undefined && (all || w.state === "offline")) ids.push(w.kioskId);
    return ids;
  }

  /**
   * The store names another process as these kiosks' supervisor (it claimed them, or took them over
   * while this one could not beat): their timers stop here and they leave this node's counts. One
   * still talking here is claimed back by its next heartbeat, from the state stored meanwhile, so a
   * wrong offline is corrected by the node that hears it.
   */
  lost(kioskIds: readonly string[]): void {
    if (this.stopped || !this.owning) return;
    for (const kioskId of kioskIds) {
      const w = this.watches.get(kioskId);
      // A claim under way here is newer than what the store said.
      if (w !== undefined && w.owned && w.held === undefined) this.release(w, false);
    }
  }

  private restore(w: Watch, row: KioskHealthRow, now: number): void {
    w.state = row.state ?? "never-seen";
    w.since = ms(row.since) ?? now;
    w.reason = row.reason ?? "provisioned";
    w.components = [...row.components];
    w.beatComponents = row.components.filter((c) => c !== TEST_ALARM_OVERDUE);
    w.firstSeenAt = ms(row.firstSeenAt);
    w.intervalS = row.intervalS;
    w.lastTestFromBeat = ms(row.lastTestAlarmAt);
    w.lastTestAlert = ms(row.lastTestAlertAt);
    w.decommissioned = row.decommissionedAt !== null;
    w.alive = w.state === "online" || w.state === "degraded";
  }

  /** Arms what a restored state needs: alive → its silence timer; offline → its reminders. */
  private resume(w: Watch, now: number, silenceMs: number): void {
    if (w.decommissioned) this.decide(w, "decommissioned");
    else if (w.state === "decommissioned") this.decide(w, "recommissioned");
    else if (w.alive) this.armSilence(w, silenceMs);
    else if (w.state === "offline") this.resumeReminders(w, now);
  }

  /** A kiosk registered after start (provisioned while the gateway runs): never seen until it connects. */
  registered(kioskId: string): void {
    if (!this.watches.has(kioskId)) this.add(kioskId, this.now());
  }

  connected(kioskId: string): void {
    const w = this.watch(kioskId);
    if (w.decommissioned || this.stopped) return;
    if (!this.owning) return this.connectedNow(w);
    // Its newest connection is here: this process supervises it, from the state the store holds
    // (another node may have supervised it until now); its events wait for that state meanwhile.
    if (w.owned) {
      this.connectedNow(w);
      this.gate.claim(w, false);
    } else {
      this.gate.hold(w, () => this.connectedNow(w));
      this.gate.claim(w, true);
    }
  }

  private connectedNow(w: Watch): void {
    if (w.decommissioned || this.stopped) return;
    w.epoch += 1;
    w.alive = true;
    w.shutdownSaid = false;
    w.firstSeenAt ??= this.now();
    this.armSilence(w, silenceTimeoutMs(w.intervalS, this.options));
    this.decide(w, "connected");
  }

  disconnected(kioskId: string): void {
    const w = this.watch(kioskId);
    if (this.gate.hold(w, () => this.disconnected(kioskId))) return;
    if (w.decommissioned || this.stopped || this.deps.isConnected(kioskId)) return;
    const gone = (): void => {
      if (this.deps.isConnected(kioskId)) return;
      w.alive = false;
      this.clearSilence(w);
      this.decide(w, w.shutdownSaid ? "shutdown" : "connection-lost");
    };
    const grace = this.deps.ownership?.moveGraceMs ?? 0;
    if (!this.owning || w.shutdownSaid || grace === 0) return this.gate.confirm(w, gone);
    // A cluster: the kiosk may be on its way to another node. Gone if it has not connected anywhere
    // within the grace (a connection here or a heartbeat voids this; one elsewhere releases it).
    this.clearSilence(w);
    w.moveGrace = setTimeout(() => {
      w.moveGrace = undefined;
      if (!this.stopped) this.gate.confirm(w, gone);
    }, grace);
  }

  /** The kiosk's retained status: `offline`/`shutdown` just before a deliberate stop names the disconnect that follows. */
  status(kioskId: string, payload: Buffer): void {
    const parsed = safeJson(payload, statusSchema);
    if (parsed === undefined) {
      const w = this.watch(kioskId);
      this.deps.bus.emit("kiosk.invalid", { kioskId, topic: "status" });
      if (this.now() - w.statusLoggedAt >= LOG_EVERY_MS) {
        w.statusLoggedAt = this.now();
        this.deps.log.warn({ kioskId, bytes: payload.length }, "status message does not match the contract: dropped (logged once a minute per kiosk)");
      }
      return;
    }
    if (parsed.state === "offline" && parsed.reason === "shutdown") {
      const w = this.watch(kioskId);
      if (!this.gate.hold(w, () => (w.shutdownSaid = true))) w.shutdownSaid = true;
    }
  }

  heartbeat(kioskId: string, payload: Buffer): void {
    const w = this.watch(kioskId);
    if (this.owning && !w.owned && w.held === undefined && !w.decommissioned && !this.stopped) {
      // A kiosk talking here that another process took meanwhile (over a node it thought dead while
      // this one could not beat): it is this one's again, from its stored state, which this beat
      // corrects. Asked before hold(): a kiosk not owned with no claim under way would wait for ever.
      this.gate.hold(w, () => this.heartbeat(kioskId, payload));
      return this.gate.claim(w, true);
    }
    if (this.gate.hold(w, () => this.heartbeat(kioskId, payload))) return;
    const now = this.now();
    if (!this.takeBeat(w, now)) {
      this.deps.bus.emit("kiosk.heartbeat", { kioskId, valid: false, dropped: true });
      return;
    }
    const hb = payload.length > this.options.maxHeartbeatBytes ? undefined : safeJson(payload, heartbeatSchema);
    this.deps.bus.emit("kiosk.heartbeat", { kioskId, valid: hb !== undefined });
    if (w.decommissioned || this.stopped) return;
    w.epoch += 1;
    w.alive = true;
    w.firstSeenAt ??= now;
    if (hb === undefined) {
      if (!w.invalidStreak) this.deps.log.warn({ kioskId, bytes: payload.length }, "heartbeat does not match the schema: kiosk marked degraded (heartbeat-invalid)");
      w.invalidStreak = true;
      w.beatComponents = [HEARTBEAT_INVALID];
    } else {
      w.invalidStreak = false;
      const components = heartbeatComponents(hb, now, this.options, w.beatComponents);
      // The same list as before is kept, not replaced by an equal one at every beat (garbage that lives 10 s).
      if (!sameComponents(components, w.beatComponents)) w.beatComponents = components;
      w.intervalS = hb.intervalS;
      w.lastTestFromBeat = ms(hb.lastTestAlarmAt);
      const receivedAt = new Date(now).toISOString();
      this.deps.writer.heartbeat({ kioskId, receivedAt, intervalS: hb.intervalS, lastTestAlarmAt: hb.lastTestAlarmAt, report: payload.toString("utf8") }, hb);
    }
    this.armSilence(w, silenceTimeoutMs(w.intervalS, this.options));
    this.decide(w, hb === undefined ? HEARTBEAT_INVALID : "heartbeat");
  }

  testAlert(kioskId: string, receivedAtMs: number): void {
    const w = this.watch(kioskId);
    w.lastTestAlert = Math.max(w.lastTestAlert ?? 0, receivedAtMs);
    if (w.alive && !this.stopped) this.decide(w, "test-alarm");
  }

  /** Decommissioned kiosks are not supervised (their messages are ignored); back in service, they are again. */
  setDecommissioned(kioskId: string, decommissioned: boolean): void {
    const w = this.watch(kioskId);
    if (w.decommissioned === decommissioned || this.stopped) return;
    w.decommissioned = decommissioned;
    if (decommissioned) {
      this.clearSilence(w);
    } else {
      w.alive = this.deps.isConnected(kioskId);
      if (w.alive) this.armSilence(w, silenceTimeoutMs(w.intervalS, this.options));
    }
    this.decide(w, decommissioned ? "decommissioned" : "recommissioned");
  }

  /** The kiosk's state as this process supervises it; undefined when another process of a cluster does (the store has it). */
  get(kioskId: string): KioskView | undefined {
    const w = this.watches.get(kioskId);
    if (w === undefined || !w.owned) return undefined;
    return { kioskId, state: w.state, since: new Date(w.since).toISOString(), reason: w.reason, components: w.components, reminders: w.reminders };
  }

  counts(): Record<KioskStateName, number> {
    const counts = Object.fromEntries(kioskStateNames.map((s) => [s, 0])) as Record<KioskStateName, number>;
    // In a cluster, the kiosks this process supervises (the nodes' counts add up to the fleet's seen kiosks).
    for (const w of this.watches.values()) if (w.owned) counts[w.state] += 1;
    return counts;
  }

  /** Stops every timer; later events are ignored (the broker's own shutdown is not a fleet going offline). */
  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) {
      this.clearSilence(w);
      clearTimeout(w.reminder);
      clearTimeout(w.settle);
      w.reminder = undefined;
    }
  }

  /** Token bucket: maxHeartbeatsPerMinute, bursts of BEAT_BURST; an excess beat is dropped, counted, logged once a minute. */
  private takeBeat(w: Watch, now: number): boolean {
    const perMs = this.options.maxHeartbeatsPerMinute / 60_000;
    w.beatTokens = Math.min(BEAT_BURST, w.beatTokens + (now - w.beatTokensAt) * perMs);
    w.beatTokensAt = now;
    if (w.beatTokens >= 1) {
      w.beatTokens -= 1;
      return true;
    }
    w.droppedBeats += 1;
    if (now - w.dropLoggedAt >= LOG_EVERY_MS) {
      w.dropLoggedAt = now;
      this.deps.log.warn({ kioskId: w.kioskId, dropped: w.droppedBeats, limitPerMinute: this.options.maxHeartbeatsPerMinute }, "kiosk sends heartbeats too fast: excess dropped unread");
    }
    return false;
  }

  private decide(w: Watch, reason: string): void {
    // Only the process that supervises a kiosk records its changes.
    if (!w.owned) return;
    const now = this.now();
    // Only a test alert the gateway stored proves the whole path; the kiosk's lastTestAlarmAt is shown, not trusted.
    const overdue = w.alive && testAlarmOverdue([w.lastTestAlert], w.firstSeenAt, now, this.options);
    const components = overdue ? [...w.beatComponents, TEST_ALARM_OVERDUE].sort() : w.beatComponents;
    const to = stateOf({ decommissioned: w.decommissioned, alive: w.alive, seen: w.firstSeenAt !== null, components });
    const shown = to === "degraded" ? components : [];
    if (to === w.state && sameComponents(shown, w.components)) return;
    const from = w.state;
    if (ALIVE.includes(from) && ALIVE.includes(to)) {
      // online↔degraded (or other failing parts): at most one change per settleMs; a held change is
      // decided again at the window's end, on what the kiosk says then.
      const settledAt = w.lastAliveChange + this.options.settleMs;
      if (now < settledAt) {
        w.settle ??= setTimeout(() => {
          w.settle = undefined;
          if (!this.stopped && w.alive) this.decide(w, reason);
        }, settledAt - now);
        return;
      }
      w.lastAliveChange = now;
    }
    clearTimeout(w.settle);
    w.settle = undefined;
    if (to !== from) w.since = now;
    w.state = to;
    w.reason = reason;
    w.components = shown;
    const at = new Date(now).toISOString();
    const transition = { kioskId: w.kioskId, from, to, reason, components: shown, at };
    this.deps.writer.transition(transition, new Date(w.since).toISOString());
    this.deps.log.info({ kioskId: w.kioskId, from, to, reason, components: shown }, "kiosk state changed");
    this.deps.bus.emit("kiosk.state", transition);
    if (to === "offline" && from !== "offline") this.resumeReminders(w, now);
    if (to !== "offline") {
      clearTimeout(w.reminder);
      w.reminder = undefined;
      w.reminders = 0;
    }
  }

  /** Schedules the next reminder on the offline period's grid (since + n × offlineReminderMs). */
  private resumeReminders(w: Watch, now: number): void {
    const every = this.options.offlineReminderMs;
    const elapsed = Math.max(0, now - w.since);
    w.reminders = Math.floor(elapsed / every);
    clearTimeout(w.reminder);
    w.reminder = setTimeout(() => this.remind(w), every - (elapsed % every));
  }

  private remind(w: Watch): void {
    if (this.stopped || w.state !== "offline") return;
    w.reminder = undefined;
    if (this.owning) return this.gate.confirm(w, () => this.remindNow(w));
    this.remindNow(w);
  }

  private remindNow(w: Watch): void {
    if (this.stopped || w.state !== "offline") return;
    w.reminders += 1;
    const at = new Date(this.now()).toISOString();
    const since = new Date(w.since).toISOString();
    this.deps.log.warn({ kioskId: w.kioskId, since, reason: w.reason, reminder: w.reminders }, "kiosk still offline");
    this.deps.writer.reminder({ type: "reminder", kioskId: w.kioskId, state: "offline", previousState: "offline", reason: w.reason, components: [], since, at, reminder: w.reminders });
    // Back on the grid since + n × every, so reminders do not drift over a long outage (a timer that
    // fired a hair early must not make the next one follow at once).
    const every = this.options.offlineReminderMs;
    const toGrid = every - ((this.now() - w.since) % every);
    w.reminder = setTimeout(() => this.remind(w), toGrid < every / 2 ? toGrid + every : toGrid);
  }

  private armSilence(w: Watch, timeoutMs: number): void {
    // A connection here or a heartbeat: the kiosk did not leave, any move-grace wait is void.
    clearTimeout(w.moveGrace);
    w.moveGrace = undefined;
    w.silenceArmedAt = this.now();
    if (w.silence !== undefined && w.silenceMs === timeoutMs) {
      w.silence.refresh();
      return;
    }
    clearTimeout(w.silence);
    w.silenceMs = timeoutMs;
    w.silence = setTimeout(() => {
      w.silence = undefined;
      if (this.stopped || w.decommissioned) return;
      if (this.gatewayStalled(w)) return;
      this.gate.confirm(w, () => {
        w.alive = false;
        this.decide(w, "heartbeats-missed");
      });
    }, timeoutMs);
  }

  /**
   * Whether the gateway itself stalled while this kiosk's silence timer ran (the timer fired late, or
   * a stall above the threshold ended since it was armed): its heartbeats may sit unread in the
   * socket, so it gets one more silence timeout instead of going offline. Truly silent, it goes then.
   */
  private gatewayStalled(w: Watch): boolean {
    const threshold = this.options.stallThresholdMs;
    if (threshold === undefined) return false;
    const now = this.now();
    const late = now - (w.silenceArmedAt + w.silenceMs);
    const stalled = Math.max(late, this.deps.stalls?.stalledSince(w.silenceArmedAt) ?? 0);
    if (stalled <= threshold) return false;
    this.deps.log.info({ kioskId: w.kioskId, stalledMs: stalled }, "silence timer ran during a gateway stall: the kiosk gets one more silence timeout");
    this.armSilence(w, w.silenceMs);
    return true;
  }

  /** The kiosk's newest connection is on another gateway process now: its timers stop here (`log` false: the caller logs them all at once). */
  private release(w: Watch, log = true): void {
    w.owned = false;
    this.clearSilence(w);
    clearTimeout(w.reminder);
    clearTimeout(w.settle);
    w.reminder = undefined;
    w.settle = undefined;
    if (log) this.deps.log.info({ kioskId: w.kioskId }, "kiosk supervised by another gateway now (its newest connection is there)");
  }

  /** Stops the kiosk's silence timer and its move-grace wait. */
  private clearSilence(w: Watch): void {
    clearTimeout(w.silence);
    w.silence = undefined;
    clearTimeout(w.moveGrace);
    w.moveGrace = undefined;
  }

  private watch(kioskId: string): Watch {
    return this.watches.get(kioskId) ?? this.add(kioskId, this.now());
  }

  private add(kioskId: string, now: number): Watch {
    const w = newWatch(kioskId, now);
    w.owned = !this.owning;
    this.watches.set(kioskId, w);
    return w;
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }
}

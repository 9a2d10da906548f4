/**
 * Escalation: an SOS alarm nobody acknowledges within `escalateAfterMs` of its receipt is escalated
 * (a step on its timeline and one event to the escalation webhook, written in one transaction), and
 * again every `escalationRepeatMs` until it is acknowledged or closed. One timer per open alarm, set
 * for exactly its next escalation; restored from the store after a restart.
 *
 * Gateways sharing a store (a cluster, `shared`): each also arms, every `syncMs`, the unacknowledged
 * alarms other gateways received, so that an alarm is still escalated when the gateway that received
 * it dies. A sync reads the open alarms' ids, and the details only of those it has not seen: in a
 * mass incident thousands of alarms stay open, and every node reading all of them with their steps
 * every few seconds took the database from the alerts that kept arriving. Those it follows fire
 * `takeoverMs` (plus a little jitter) after they are due, behind the gateway that received the alarm,
 * and first read whether that one raised the escalation already (no lock, no write); a follower that
 * had to raise one leads that alarm from then on. The store takes each escalation once whatever the
 * timing (its event id is made from the alarm and the number).
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { retriedFailureLevel } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import { ESCALATION_SCHEMA_ID, type EscalationEvent } from "../../shared/escalation.js";
import type { UnacknowledgedAlarm } from "../store/alarm-store.js";
import type { GatewayStore } from "../store/store.js";

export interface EscalationOptions {
  readonly escalateAfterMs: number;
  readonly escalationRepeatMs: number;
  /** Gateways sharing the store (see above); absent for a single gateway. */
  readonly shared?: { readonly syncMs: number; readonly takeoverMs: number };
}

export interface EscalationDeps {
  readonly store: GatewayStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Called after each stored escalation (wake the webhook outbox, tell the pages). */
  readonly escalated: (alertId: string, number: number) => void;
  /** [0, 1): a follower's jitter (default Math.random). */
  readonly random?: () => number;
}

interface Armed {
  readonly kioskId: string;
  readonly receivedAt: number;
  escalations: number;
  timer: NodeJS.Timeout | undefined;
  /** When the next escalation is due (a follower fires takeoverMs after it). */
  dueAt: number;
  /** Received here (or raised here since): fires when due; else it follows another gateway, takeoverMs behind. */
  leads: boolean;
}

export class EscalationTimers {
  private readonly armed = new Map<string, Armed>();
  /**
   * Open alarms a sync has seen: each is armed, or has ended for escalation (acknowledged: only an
   * acknowledgement or a close disarms one), so the next sync need not read it again.
   */
  private seen = new Set<string>();
  private stopped = false;
  private sync: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: EscalationOptions,
    private readonly deps: EscalationDeps,
  ) {}

  /**
   * Re-arms every open, unacknowledged SOS alarm in the store (at start); with a shared store, then
   * arms every `syncMs` those it does not know yet. Returns how many are open.
   */
  async restore(): Promise<number> {
    const open = await this.armFromStore(true);
    const shared = this.options.shared;
    if (shared !== undefined && this.sync === undefined && !this.stopped) {
      this.sync = setInterval(() => {
        this.armFromStore(false).catch((err: unknown) => this.deps.log[retriedFailureLevel(err, "warn")]({ err }, "could not read the unacknowledged alarms; trying again"));
      }, shared.syncMs);
    }
    return open;
  }

  /** A new SOS alarm was received here: this gateway leads its escalations. */
  track(alertId: string, kioskId: string, receivedAt: string): void {
    const at = Date.parse(receivedAt);
    this.arm(alertId, kioskId, at, 0, at + this.options.escalateAfterMs, true);
  }

  /** Acknowledged or closed: no more escalations. */
  cancel(alertId: string): void {
    const a = this.armed.get(alertId);
    if (a === undefined) return;
    clearTimeout(a.timer);
    this.armed.delete(alertId);
  }

  /** Alarms with a timer (tests, metrics). */
  get pending(): number {
    return this.armed.size;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sync);
    for (const a of this.armed.values()) clearTimeout(a.timer);
    this.armed.clear();
  }

  /** Arms the store's open, unacknowledged alarms: all of them (`all`), or those not seen yet. */
  private async armFromStore(all: boolean): Promise<number> {
    const open = all ? await this.deps.store.alarms.unacknowledged() : await this.unseenFromStore();
    // Alone on its store, a gateway received every alarm in it; in a cluster it cannot tell whose they were.
    const leads = this.options.shared === undefined;
    for (const a of open) {
      if (!all && this.armed.has(a.alertId)) continue;
      const receivedAt = Date.parse(a.receivedAt);
      const next = a.lastEscalatedAt === null ? receivedAt + this.options.escalateAfterMs : Date.parse(a.lastEscalatedAt) + this.options.escalationRepeatMs;
      this.arm(a.alertId, a.kioskId, receivedAt, a.escalations, next, leads);
    }
    return open.length;
  }

  /** The open, unacknowledged alarms a sync has not seen yet (ids first, then only their details). */
  private async unseenFromStore(): Promise<UnacknowledgedAlarm[]> {
    const { alarms } = this.deps.store;
    const ids = await alarms.openSosAlarmIds();
    const unseen = ids.filter((id) => !this.seen.has(id) && !this.armed.has(id));
    const open = unseen.length === 0 ? [] : await alarms.unacknowledged(unseen);
    // Only after both reads: an id whose details failed to come is asked for again next time.
    this.seen = new Set(ids);
    return open;
  }

  private arm(alertId: string, kioskId: string, receivedAt: number, escalations: number, dueAt: number, leads: boolean): void {
    if (this.stopped) return;
    this.cancel(alertId);
    const a: Armed = { kioskId, receivedAt, escalations, timer: undefined, dueAt, leads };
    this.armed.set(alertId, a);
    this.schedule(alertId, a, dueAt);
  }

  private schedule(alertId: string, a: Armed, dueAt: number): void {
    a.dueAt = dueAt;
    const takeover = this.options.shared?.takeoverMs ?? 0;
    const behind = a.leads ? 0 : takeover + Math.floor((this.deps.random ?? Math.random)() * takeover * 0.2);
    const delay = Math.max(0, Math.min(dueAt + behind - this.deps.clock.now().getTime(), 2 ** 31 - 1));
    a.timer = setTimeout(() => void this.fire(alertId, a), delay);
  }

  private async fire(alertId: string, a: Armed): Promise<void> {
    if (this.armed.get(alertId) !== a) return;
    const now = this.deps.clock.now();
    const number = a.escalations + 1;
    try {
      // Following: the gateway that leads has most likely raised it; a read says so without a lock.
      if (!a.leads && !(await this.stillDue(alertId, a, number))) return;
      const event = await this.build(alertId, a, number, now);
      const stored = await this.deps.store.alarms.recordEscalation({ eventId: event.eventId, alertId, number, at: event.at, body: JSON.stringify(event) });
      if (this.armed.get(alertId) !== a) return;
      if (!stored) {
        if (!(await this.stillDue(alertId, a, number))) return;
      } else {
        a.escalations = number;
        a.leads = true;
        this.deps.log.warn({ alertId, kioskId: a.kioskId, escalation: number, unacknowledgedForS: event.unacknowledgedForS }, "alarm not acknowledged: escalated");
        this.deps.escalated(alertId, number);
      }
    } catch (err) {
      this.deps.log.error({ err, alertId }, "could not store an escalation; trying again at the next interval");
    }
    if (this.armed.get(alertId) === a) this.schedule(alertId, a, now.getTime() + this.options.escalationRepeatMs);
  }

  /**
   * Whether escalation `number` is still to be raised here. Not when the alarm was acknowledged or
   * closed (perhaps by another process: the CLI, another gateway): its timer ends. Not when another
   * gateway of the cluster raised it: the same number is not sent twice, and the count goes on from it.
   */
  private async stillDue(alertId: string, a: Armed, number: number): Promise<boolean> {
    const state = await this.deps.store.alarms.escalationState(alertId, escalationEventId(alertId, number));
    if (this.armed.get(alertId) !== a) return false;
    if (state === "due") return true;
    if (state === "ended") {
      this.armed.delete(alertId);
      return false;
    }
    a.escalations = number;
    this.deps.log.debug({ alertId, escalation: number }, "escalation already raised by another gateway");
    // From when it was due, not from this look: a follower stays one beat behind, it does not drift.
    this.schedule(alertId, a, a.dueAt + this.options.escalationRepeatMs);
    return false;
  }

  private async build(alertId: string, a: Armed, number: number, now: Date): Promise<EscalationEvent> {
    const { store } = this.deps;
    const [alert, kiosk] = await Promise.all([store.getAlert(alertId), store.getKiosk(a.kioskId)]);
    const receivedAt = new Date(a.receivedAt).toISOString();
    return {
      schema: ESCALATION_SCHEMA_ID,
      eventId: escalationEventId(alertId, number),
      alertId,
      kioskId: a.kioskId,
      kioskName: kiosk?.name ?? null,
      address: kiosk?.location.address ?? null,
      location: kiosk === undefined ? null : { lat: kiosk.location.lat, lon: kiosk.location.lon },
      pressedAt: alert?.pressedAt ?? receivedAt,
      receivedAt,
      escalation: number,
      unacknowledgedForS: Math.round((now.getTime() - a.receivedAt) / 100) / 10,
      at: now.toISOString(),
    };
  }
}

/**
 * An escalation's event id: the same for the same alarm and number on every gateway (a UUID made from
 * a SHA-256 of both, in version 5's form), so that the store takes it once however many gateways of a
 * cluster raise it, and the escalation webhook's receiver sees one Idempotency-Key per escalation.
 */
export function escalationEventId(alertId: string, number: number): string {
  const h = createHash("sha256").update(`sos/escalation/${alertId.toLowerCase()}/${number}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

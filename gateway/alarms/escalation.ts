/**
 * Escalation: an SOS alarm nobody acknowledges within `escalateAfterMs` of its receipt is escalated
 * (a step on its timeline and one event to the escalation webhook, written in one transaction), and
 * again every `escalationRepeatMs` until it is acknowledged or closed. One timer per open alarm, set
 * for exactly its next escalation (no periodic sweep); restored from the store after a restart.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { ESCALATION_SCHEMA_ID, type EscalationEvent } from "../../shared/escalation.js";
import type { GatewayStore } from "../store/store.js";

export interface EscalationOptions {
  readonly escalateAfterMs: number;
  readonly escalationRepeatMs: number;
}

export interface EscalationDeps {
  readonly store: GatewayStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Called after each stored escalation (wake the webhook outbox, tell the pages). */
  readonly escalated: (alertId: string, number: number) => void;
}

interface Armed {
  readonly kioskId: string;
  readonly receivedAt: number;
  escalations: number;
  timer: NodeJS.Timeout | undefined;
}

export class EscalationTimers {
  private readonly armed = new Map<string, Armed>();
  private stopped = false;

  constructor(
    private readonly options: EscalationOptions,
    private readonly deps: EscalationDeps,
  ) {}

  /** Re-arms every open, unacknowledged SOS alarm in the store (at start). */
  async restore(): Promise<number> {
    const open = await this.deps.store.alarms.unacknowledged();
    for (const a of open) {
      const receivedAt = Date.parse(a.receivedAt);
      const next = a.lastEscalatedAt === null ? receivedAt + this.options.escalateAfterMs : Date.parse(a.lastEscalatedAt) + this.options.escalationRepeatMs;
      this.arm(a.alertId, a.kioskId, receivedAt, a.escalations, next);
    }
    return open.length;
  }

  /** A new SOS alarm was received. */
  track(alertId: string, kioskId: string, receivedAt: string): void {
    const at = Date.parse(receivedAt);
    this.arm(alertId, kioskId, at, 0, at + this.options.escalateAfterMs);
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
    for (const a of this.armed.values()) clearTimeout(a.timer);
    this.armed.clear();
  }

  private arm(alertId: string, kioskId: string, receivedAt: number, escalations: number, dueAt: number): void {
    if (this.stopped) return;
    this.cancel(alertId);
    const a: Armed = { kioskId, receivedAt, escalations, timer: undefined };
    this.armed.set(alertId, a);
    this.schedule(alertId, a, dueAt);
  }

  private schedule(alertId: string, a: Armed, dueAt: number): void {
    const delay = Math.max(0, Math.min(dueAt - this.deps.clock.now().getTime(), 2 ** 31 - 1));
    a.timer = setTimeout(() => void this.fire(alertId, a), delay);
  }

  private async fire(alertId: string, a: Armed): Promise<void> {
    if (this.armed.get(alertId) !== a) return;
    const now = this.deps.clock.now();
    const number = a.escalations + 1;
    try {
      const event = await this.build(alertId, a, number, now);
      const stored = await this.deps.store.alarms.recordEscalation({ eventId: event.eventId, alertId, number, at: event.at, body: JSON.stringify(event) });
      if (this.armed.get(alertId) !== a) return;
      if (!stored) {
        if (await this.stillWaiting(alertId)) {
          // Another gateway of the cluster escalated this one first: the same number is not sent twice.
          a.escalations = number;
          this.deps.log.debug({ alertId, escalation: number }, "escalation already raised by another gateway");
        } else {
          // Acknowledged or closed meanwhile (perhaps by another process: the CLI, another gateway).
          this.armed.delete(alertId);
          return;
        }
      } else {
        a.escalations = number;
        this.deps.log.warn({ alertId, kioskId: a.kioskId, escalation: number, unacknowledgedForS: event.unacknowledgedForS }, "alarm not acknowledged: escalated");
        this.deps.escalated(alertId, number);
      }
    } catch (err) {
      this.deps.log.error({ err, alertId }, "could not store an escalation; trying again at the next interval");
    }
    if (this.armed.get(alertId) === a) this.schedule(alertId, a, now.getTime() + this.options.escalationRepeatMs);
  }

  /** Whether the alarm is still open and unacknowledged (so an escalation it did not store was another gateway's). */
  private async stillWaiting(alertId: string): Promise<boolean> {
    const alert = await this.deps.store.getAlert(alertId);
    if (alert === undefined || alert.closedAt !== null) return false;
    return !(await this.deps.store.alarms.steps(alertId)).some((s) => s.type === "acknowledged");
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

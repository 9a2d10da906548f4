/**
 * EIDO updates of an alarm's incident (dispatch.format "eido"): each acknowledged, call-connected and
 * closed step of an SOS alarm, once stored, is built into an update of the incident (format.ts) and
 * queued in the store's dispatch update outbox, which the dispatch forwarder sends after the alert,
 * in order per alarm, retried like alerts, keyed `{alertId}:{step}` for the receiver to dedupe.
 * One alarm's steps are queued one after another, so the outbox holds them in the order they happened.
 *
 * A step stored just before the gateway died may not have been queued yet, and an alarm closed by
 * `sos alerts close` (another process) announces no step here: `reconcile` queues what is missing for
 * the newest alarms at start, and for a kiosk's recent alarms when it confirms a command (the CLI's
 * close reaches the kiosk that way). Queuing is idempotent by key, so nothing is queued twice.
 */
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { AlarmStep } from "../store/alarm-store.js";
import type { GatewayStore } from "../store/store.js";
import { type DispatchBodyFormat, isEidoUpdateStep, updateKey } from "./format.js";

export interface DispatchUpdatesDeps {
  readonly store: GatewayStore;
  readonly events: EventBus<GatewayEvents>;
  readonly agency: string;
  readonly log: Logger;
  /** A new update is queued: wake the forwarder. */
  readonly wake: () => void;
}

const allLifecycleSteps = (steps: readonly AlarmStep[]): number[] => steps.flatMap((s, i) => (isEidoUpdateStep(s.type) ? [i] : []));

export class DispatchUpdates {
  private readonly chains = new Map<string, Promise<void>>();
  private off: (() => void) | undefined;

  constructor(
    private readonly format: DispatchBodyFormat,
    private readonly deps: DispatchUpdatesDeps,
  ) {}

  attach(): void {
    const { events } = this.deps;
    const offs = [
      events.on("alarm.step", "dispatch-updates", (e) => {
        if (isEidoUpdateStep(e.type)) this.enqueue(e.alertId, (steps) => [steps.findLastIndex((s) => s.type === e.type)]);
      }),
      events.on("command.confirmed", "dispatch-updates", (e) => void this.reconcileKiosk(e.kioskId)),
    ];
    this.off = () => offs.forEach((off) => off());
  }

  /** Queues every missing update of the `newest` alarms (at start). Returns how many alarms were looked at. */
  async reconcile(newest: number): Promise<number> {
    const alerts = await this.deps.store.listAlerts({ limit: newest });
    for (const a of alerts) if (a.kind === "sos") this.enqueue(a.alertId, allLifecycleSteps);
    await this.settled();
    return alerts.length;
  }

  private async reconcileKiosk(kioskId: string): Promise<void> {
    try {
      for (const a of await this.deps.store.alarms.alertsOfKiosk(kioskId, 5)) if (a.kind === "sos") this.enqueue(a.alertId, allLifecycleSteps);
    } catch (err) {
      this.deps.log.error({ err, kioskId }, "could not look for EIDO updates to queue");
    }
  }

  /** Resolves once every update started so far is queued (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  stop(): void {
    this.off?.();
  }

  /** Queues, after the alarm's earlier work, an update for each step index `which` picks from its steps. */
  private enqueue(alertId: string, which: (steps: readonly AlarmStep[]) => number[]): void {
    const previous = this.chains.get(alertId) ?? Promise.resolve();
    const next = previous.then(() => this.queue(alertId, which)).catch((err: unknown) => this.deps.log.error({ err, alertId }, "could not queue an EIDO update for dispatch"));
    this.chains.set(alertId, next);
    void next.finally(() => {
      if (this.chains.get(alertId) === next) this.chains.delete(alertId);
    });
  }

  private async queue(alertId: string, which: (steps: readonly AlarmStep[]) => number[]): Promise<void> {
    const { store } = this.deps;
    const alert = await store.getAlert(alertId);
    // A test alarm's incident is sent closed already: nothing to update.
    if (alert === undefined || alert.kind === "test") return;
    const steps = await store.alarms.steps(alertId);
    const initialBody = await store.dispatchUpdates.dispatchBody(alertId);
    if (initialBody === undefined) return;
    let queued = 0;
    for (const upTo of which(steps)) {
      const step = steps[upTo];
      if (step === undefined || !isEidoUpdateStep(step.type)) continue;
      const body = this.format.updateBody({ initialBody, steps: steps.slice(0, upTo + 1), agency: this.deps.agency });
      if (body === null) return; // not an EIDO incident (stored while the format was flat)
      const eventId = updateKey(alertId, step);
      if (!(await store.dispatchUpdates.queueUpdate({ eventId, alertId, step: step.type, body, at: step.at }))) continue;
      queued += 1;
      this.deps.log.info({ alertId, eventId, step: step.type }, "EIDO update queued for dispatch");
    }
    if (queued > 0) this.deps.wake();
  }
}

/**
 * EIDO updates of an alarm's incident (dispatch.format "eido"): each acknowledged, call-connected and
 * closed step of an SOS alarm, once stored, is built into an update of the incident (format.ts) and
 * queued in the store's dispatch update outbox, which the dispatch forwarder sends after the alert,
 * in order per alarm, retried like alerts, keyed `{alertId}:{step}` for the receiver to dedupe.
 * One alarm's steps are queued one after another, so the outbox holds them in the order they happened.
 */
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
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

export class DispatchUpdates {
  private readonly chains = new Map<string, Promise<void>>();
  private off: (() => void) | undefined;

  constructor(
    private readonly format: DispatchBodyFormat,
    private readonly deps: DispatchUpdatesDeps,
  ) {}

  attach(): void {
    this.off = this.deps.events.on("alarm.step", "dispatch-updates", (e) => {
      if (isEidoUpdateStep(e.type)) this.enqueue(e.alertId, e.type);
    });
  }

  /** Resolves once every update started so far is queued (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  stop(): void {
    this.off?.();
  }

  private enqueue(alertId: string, type: string): void {
    const previous = this.chains.get(alertId) ?? Promise.resolve();
    const next = previous.then(() => this.queue(alertId, type)).catch((err: unknown) => this.deps.log.error({ err, alertId, step: type }, "could not queue an EIDO update for dispatch"));
    this.chains.set(alertId, next);
    void next.finally(() => {
      if (this.chains.get(alertId) === next) this.chains.delete(alertId);
    });
  }

  private async queue(alertId: string, type: string): Promise<void> {
    const { store } = this.deps;
    const alert = await store.getAlert(alertId);
    // A test alarm's incident is sent closed already: nothing to update.
    if (alert === undefined || alert.kind === "test") return;
    const steps = await store.alarms.steps(alertId);
    const upTo = steps.findLastIndex((s) => s.type === type);
    const step = steps[upTo];
    const initialBody = await store.dispatchUpdates.dispatchBody(alertId);
    if (step === undefined || initialBody === undefined) return;
    const body = this.format.updateBody({ initialBody, steps: steps.slice(0, upTo + 1), agency: this.deps.agency });
    if (body === null) return;
    const eventId = updateKey(alertId, step);
    const queued = await store.dispatchUpdates.queueUpdate({ eventId, alertId, step: type, body, at: step.at });
    if (!queued) return;
    this.deps.log.info({ alertId, eventId, step: type }, "EIDO update queued for dispatch");
    this.deps.wake();
  }
}

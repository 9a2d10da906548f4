/**
 * Forwards stored alerts to dispatch from the persisted outbox (the generic OutboxForwarder over the
 * store's dispatch queries): no cap on attempts while undelivered, exponential backoff with a capped
 * delay, every attempt recorded; dispatch dedupes by Idempotency-Key (the alertId). With a circuit
 * (the gateway's config always has one), a dispatch that is down is probed with one alert at a time
 * and the backlog goes out, SOS oldest first and test alarms last, as soon as it answers; an outage
 * longer than `unreachableAfterMs` is reported (reachability.ts).
 *
 * With dispatch.format "eido" the same forwarder sends the alarms' EIDO updates (updates.ts) after the
 * alerts, through the same circuit and signed webhook: one receiver, one view of whether it answers.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import { type ForwarderOptions, OutboxForwarder, type OutboxJob, type OutboxQueue } from "../outbox/forwarder.js";
import type { Claim, DispatchJob, GatewayStore } from "../store/store.js";
import { DispatchReachability, type DispatchStatus } from "./reachability.js";
import type { DispatchSender } from "./webhook.js";

export type { ForwarderOptions } from "../outbox/forwarder.js";

export interface DispatchForwarderOptions extends ForwarderOptions {
  /** Dispatch failing this long is reported as unreachable (default 30 s). */
  readonly unreachableAfterMs?: number;
}

const toOutboxJob = (job: DispatchJob): OutboxJob => ({ id: job.alertId, body: job.body, attempts: job.attempts });
const toDispatchJob = (job: OutboxJob): DispatchJob => ({ alertId: job.id, body: job.body, attempts: job.attempts });

/** An EIDO update's outbox id (`{alertId}:{step}`): alert ids are UUIDs and have no ':'. */
export const isUpdateId = (id: string): boolean => id.includes(":");

/** Alerts first (SOS oldest first, test alarms last), then the updates of delivered alerts, each alarm's in order. */
export function withUpdates(alerts: OutboxQueue, updates: OutboxQueue): OutboxQueue {
  return {
    claim: async (dueBy, limit, claim) => {
      const jobs = await alerts.claim(dueBy, limit, claim);
      return jobs.length >= limit ? jobs : [...jobs, ...(await updates.claim(dueBy, limit - jobs.length, claim))];
    },
    nextAt: async (holder) => {
      const [a, u] = await Promise.all([alerts.nextAt(holder), updates.nextAt(holder)]);
      if (a === null || u === null) return a ?? u;
      return a.getTime() <= u.getTime() ? a : u;
    },
    record: (attempt, next) => (isUpdateId(attempt.id) ? updates.record(attempt, next) : alerts.record(attempt, next)),
  };
}

/** The store's EIDO update outbox as an OutboxQueue. */
export function updatesQueue(store: GatewayStore): OutboxQueue {
  const u = store.dispatchUpdates;
  return { claim: (dueBy, limit, claim) => u.claimUpdates(dueBy, limit, claim), nextAt: (holder) => u.nextUpdateAt(holder), record: (a, next) => u.recordUpdateAttempt(a, next) };
}

/** The store's dispatch outbox as an OutboxQueue. */
export function dispatchQueue(store: GatewayStore): OutboxQueue {
  return {
    claim: async (dueBy, limit, claim) => (await store.claimDispatches(dueBy, limit, claim)).map(toOutboxJob),
    nextAt: (holder) => store.nextDispatchAt(holder),
    record: ({ id, ...rest }, next) => store.recordAttempt({ alertId: id, ...rest }, next),
  };
}

export class DispatchForwarder {
  private readonly outbox: OutboxForwarder;
  private readonly reachability: DispatchReachability;

  constructor(store: GatewayStore, sender: DispatchSender, options: DispatchForwarderOptions, bus: EventBus<GatewayEvents>, clock: Clock, log: Logger, sendUpdates = false) {
    const reachability = new DispatchReachability(options.unreachableAfterMs ?? 30_000, bus, clock, log);
    this.reachability = reachability;
    this.outbox = new OutboxForwarder(
      sendUpdates ? withUpdates(dispatchQueue(store), updatesQueue(store)) : dispatchQueue(store),
      { send: (job, attempt, signal) => sender.send(toDispatchJob(job), attempt, signal) },
      options,
      {
        delivered: (job, attempt, result, finishedAt) => {
          const deliveredAt = finishedAt.toISOString();
          if (isUpdateId(job.id)) bus.emit("dispatch.update.delivered", { eventId: job.id, attempt, httpStatus: result.httpStatus, deliveredAt });
          else bus.emit("alert.delivered", { alertId: job.id, attempt, httpStatus: result.httpStatus, deliveredAt });
        },
        failed: (job, attempt, error, retryInMs) => {
          reachability.noteError(error);
          bus.emit("dispatch.failed", { alertId: job.id.split(":")[0] ?? job.id, attempt, error, retryInMs });
        },
        circuit: (change) => reachability.onCircuit(change),
      },
      { name: "dispatch", idField: "alertId", delivered: "alert delivered to dispatch", failed: "dispatch attempt failed: will retry" },
      clock,
      log,
    );
  }

  start(): void {
    this.outbox.start();
  }

  /** Looks for due work now (called on start, on an escalation or update, and when a send finishes). */
  wake(): void {
    this.outbox.wake();
  }

  /** The claim a new alert's dispatch job is stored with, when it can be sent at once (OutboxForwarder.claimForNew). */
  claimForNew(): Claim | undefined {
    return this.outbox.claimForNew();
  }

  /** A new alert was stored: its job, claimed with claimForNew(), is sent at once; without one the queue is looked at. */
  stored(job: DispatchJob | undefined): void {
    if (job === undefined) this.outbox.wake();
    else this.outbox.take(toOutboxJob(job));
  }

  /** Whether dispatch answers (for /readyz, the metrics and the console). */
  status(): DispatchStatus {
    return this.reachability.status();
  }

  /** Stops starting attempts; waits up to graceMs for those in flight, then aborts them (they stay pending). */
  stop(graceMs: number): Promise<void> {
    this.reachability.stop();
    return this.outbox.stop(graceMs);
  }
}

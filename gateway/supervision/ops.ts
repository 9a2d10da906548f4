/**
 * The operations webhook: each transition and each offline reminder becomes one event in the
 * persisted ops outbox (written with the transition, in one transaction) and is forwarded by the
 * same OutboxForwarder as dispatch: signed with the ops secret, Idempotency-Key = eventId, retried
 * with backoff until a 2xx, across restarts.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import type { EventBus } from "../../shared/events.js";
import { type KioskStateName, OPS_SCHEMA_ID, type OpsEvent } from "../../shared/ops.js";
import type { GatewayEvents } from "../events.js";
import { OutboxForwarder, type OutboxSender } from "../outbox/forwarder.js";
import { SignedWebhook } from "../outbox/signed-post.js";
import type { QueuedOpsEvent } from "../store/health-store.js";
import type { GatewayStore, KioskRecord } from "../store/store.js";

export interface OpsEventInput {
  readonly type: "transition" | "reminder";
  readonly kioskId: string;
  readonly state: KioskStateName;
  readonly previousState: KioskStateName;
  readonly reason: string;
  readonly components: readonly string[];
  readonly since: string;
  readonly at: string;
  readonly reminder: number;
}

export function buildOpsEvent(input: OpsEventInput, kiosk: KioskRecord | undefined): QueuedOpsEvent {
  const eventId = randomUUID();
  const body: OpsEvent = {
    schema: OPS_SCHEMA_ID,
    eventId,
    type: input.type,
    kioskId: input.kioskId,
    kioskName: kiosk?.name ?? null,
    address: kiosk?.location.address ?? null,
    state: input.state,
    previousState: input.previousState,
    reason: input.reason,
    components: [...input.components],
    since: input.since,
    at: input.at,
    reminder: input.reminder,
  };
  return { eventId, kioskId: input.kioskId, type: input.type, body: JSON.stringify(body), createdAt: input.at };
}

/** The ops forwarder, or undefined when no ops URL is configured (events are then not queued at all). */
export function createOpsForwarder(
  config: GatewayConfig,
  deps: { store: GatewayStore; events: EventBus<GatewayEvents>; clock: Clock; log: Logger; userAgent: string; sender?: OutboxSender },
): OutboxForwarder | undefined {
  const { url, secret } = config.ops;
  let sender = deps.sender;
  if (sender === undefined && url !== undefined && secret !== undefined) {
    const webhook = new SignedWebhook({ url, secret, timeoutMs: config.ops.timeoutMs, userAgent: deps.userAgent, urlOption: "--ops-url" });
    sender = { send: (job, attempt, signal) => webhook.post(job.id, job.body, attempt, signal) };
  }
  if (sender === undefined) return undefined;
  const health = deps.store.health;
  return new OutboxForwarder(
    { claim: (dueBy, limit, claim) => health.claimOps(dueBy, limit, claim), nextAt: (holder) => health.nextOpsAt(holder), record: (a, next) => health.recordOpsAttempt(a, next) },
    sender,
    config.ops,
    {
      delivered: (job, attempt) => deps.events.emit("ops.delivered", { eventId: job.id, attempt }),
      failed: (job, attempt, error, retryInMs) => deps.events.emit("ops.failed", { eventId: job.id, attempt, error, retryInMs }),
    },
    { name: "ops", idField: "eventId", delivered: "ops event delivered", failed: "ops event attempt failed: will retry" },
    deps.clock,
    deps.log,
  );
}

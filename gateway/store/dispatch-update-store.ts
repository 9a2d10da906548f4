/**
 * The store's side of EIDO updates (dispatch.format "eido"; gateway/dispatch/updates.ts): an outbox
 * of the alarm's later steps as updates of its incident, sent by the dispatch forwarder with the
 * alerts. An alarm's updates go out in the order they were queued, and none before the alert's own
 * dispatch body is delivered: a receiver never sees an update of an incident it does not know.
 * SqliteStore exposes it as `store.dispatchUpdates` (migration 9).
 */
import type { OutboxAttempt, OutboxJob } from "../outbox/forwarder.js";
import type { Claim, ClaimHolder } from "./store.js";

export interface QueuedDispatchUpdate {
  /** The idempotency key: `{alertId}:{step}` (`:{callId}` added for a call). */
  readonly eventId: string;
  readonly alertId: string;
  /** The step: acknowledged, call-connected, closed. */
  readonly step: string;
  /** The JSON sent, built once: every retry sends the same bytes and signature. */
  readonly body: string;
  readonly at: string;
}

export interface DispatchUpdateRow {
  readonly eventId: string;
  readonly alertId: string;
  readonly step: string;
  readonly body: string;
  readonly attempts: number;
  readonly deliveredAt: string | null;
}

export interface DispatchUpdateStore {
  /** The alert's stored dispatch body (its incident's first EIDO, or a flat body); undefined for an unknown alert. */
  dispatchBody(alertId: string): Promise<string | undefined>;
  /** Queues an update; false when one with this eventId was queued before (nothing written). */
  queueUpdate(update: QueuedDispatchUpdate): Promise<boolean>;
  /** Claims due updates (GatewayStore.claimDispatches), each alarm's oldest first, only of alerts whose dispatch body is delivered. */
  claimUpdates(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]>;
  nextUpdateAt(holder: ClaimHolder): Promise<Date | null>;
  recordUpdateAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void>;
  /** An alarm's updates in the order they were queued. */
  updatesOf(alertId: string): Promise<DispatchUpdateRow[]>;
}

/**
 * The store's supervision side (migration 4): each kiosk's state and its history, its latest
 * heartbeat, decommissioning, and the outbox of operations events. Kept apart from GatewayStore's
 * alert methods; SqliteStore exposes it as `store.health`.
 */
import type { OutboxAttempt, OutboxJob } from "../outbox/forwarder.js";
import type { KioskStateName, OpsEventType } from "../../shared/ops.js";
import type { Claim, ClaimHolder } from "./store.js";

/** A registered kiosk as supervision sees it; `state` null: no state stored yet (never seen). */
export interface KioskHealthRow {
  readonly kioskId: string;
  readonly name: string | null;
  readonly address: string;
  readonly decommissionedAt: string | null;
  readonly state: KioskStateName | null;
  readonly since: string | null;
  readonly reason: string | null;
  readonly components: readonly string[];
  readonly firstSeenAt: string | null;
  readonly lastHeartbeatAt: string | null;
  readonly intervalS: number | null;
  /** As the kiosk's last stored heartbeat reported it. */
  readonly lastTestAlarmAt: string | null;
  /** The last test alert the gateway received from it. */
  readonly lastTestAlertAt: string | null;
  /** The latest heartbeat's JSON, only when asked for (listHealth({ reports: true })). */
  readonly report: string | null;
}

export interface TransitionRecord {
  readonly kioskId: string;
  readonly from: KioskStateName;
  readonly to: KioskStateName;
  readonly reason: string;
  readonly components: readonly string[];
  readonly at: string;
}

export interface QueuedOpsEvent {
  readonly eventId: string;
  /** null: the gateway's own event (dispatch unreachable, a stall). */
  readonly kioskId: string | null;
  readonly type: OpsEventType;
  /** The JSON sent, built once: every retry sends the same bytes and signature. */
  readonly body: string;
  readonly createdAt: string;
}

export interface HeartbeatRecord {
  readonly kioskId: string;
  readonly receivedAt: string;
  readonly intervalS: number;
  readonly lastTestAlarmAt: string | null;
  /**
   * The heartbeat as the kiosk sent it (validated JSON); null when only its readings changed since the
   * report last written (supervision/writer.ts): the stored report is kept, the rest of the row written.
   */
  readonly report: string | null;
}

export interface RegistryChange {
  readonly kioskId: string;
  readonly decommissionedAt: string | null;
  readonly updatedAt: string;
}

export interface OpsOutboxRow {
  readonly eventId: string;
  readonly kioskId: string | null;
  readonly type: OpsEventType;
  readonly body: string;
  readonly attempts: number;
  readonly deliveredAt: string | null;
  readonly lastError: string | null;
}

export interface HealthStore {
  /** Every registered kiosk with its stored state, heartbeat and last test alert (kioskId order). */
  listHealth(options?: { reports?: boolean }): Promise<KioskHealthRow[]>;
  getHealth(kioskId: string, options?: { reports?: boolean }): Promise<KioskHealthRow | undefined>;
  /** The registered ones of these kiosks, as getHealth (kioskId order; one statement for a reconnect storm). */
  getHealthOf(kioskIds: readonly string[]): Promise<KioskHealthRow[]>;
  /**
   * Stores transitions (each kiosk's current state follows its last one) and queues ops events, in
   * one transaction. The gateway's own events (kioskId null) are queued with no transition.
   */
  recordSupervision(batch: { transitions: readonly TransitionRecord[]; events: readonly QueuedOpsEvent[] }): Promise<void>;
  /** Upserts each kiosk's latest heartbeat (one transaction). */
  saveHeartbeats(rows: readonly HeartbeatRecord[]): Promise<void>;
  /**
   * Deletes, from before `before`: delivered operations events, transitions (each kiosk keeps its
   * newest), and delivered test alarms with their steps and attempts (each kiosk keeps its newest,
   * which supervision reads). SOS alarms are never deleted. Returns the counts deleted.
   */
  /** Also deletes rejected messages received before `before` (a kiosk sending bad messages must not fill the disk). */
  pruneHistory(before: Date): Promise<{ opsEvents: number; transitions: number; testAlerts: number; rejected: number }>;
  /** A kiosk's transitions, newest first. */
  transitions(kioskId: string, limit: number): Promise<TransitionRecord[]>;
  /** Registry rows updated after `after` (all when null), oldest update first. */
  registryChangedSince(after: string | null): Promise<RegistryChange[]>;
  /** Marks a kiosk decommissioned (or back in service); false when it is not registered. */
  setDecommissioned(kioskId: string, decommissioned: boolean, now: Date): Promise<boolean>;

  // the operations outbox (gateway/outbox/forwarder.ts)
  /** Claims due events (each kiosk's oldest undelivered only), as GatewayStore.claimDispatches. */
  claimOps(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]>;
  nextOpsAt(holder: ClaimHolder): Promise<Date | null>;
  recordOpsAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void>;
  listOps(limit: number): Promise<OpsOutboxRow[]>;
  /** Undelivered ops events (index-only). */
  pendingOpsCount(): Promise<number>;
  /** Undelivered dispatch jobs (index-only, unlike countByDelivery: cheap enough for every scrape). */
  pendingDispatchCount(): Promise<number>;
}

/** A kiosk's health row after a batch of its transitions, as if they were applied one by one. */
export interface FoldedState {
  readonly kioskId: string;
  readonly state: KioskStateName;
  readonly since: string;
  /** The state changed within the batch: `since` is the batch's, whatever the stored state was. */
  readonly changed: boolean;
  readonly reason: string;
  readonly components: string;
  /** The first time the batch saw the kiosk online or degraded (kept only when none is stored). */
  readonly firstSeenAt: string | null;
}

/**
 * Folds a batch of transitions into one health row per kiosk (sorted by kiosk id: one lock order on
 * every node), for stores that write a batch in one statement: `since` moves only when the state
 * does, so it is the start of the batch's last run of the final state, or the stored `since` when
 * that run is the whole batch and the stored state is the same.
 */
export function foldTransitions(transitions: readonly TransitionRecord[]): FoldedState[] {
  const byKiosk = new Map<string, TransitionRecord[]>();
  for (const t of transitions) {
    const ts = byKiosk.get(t.kioskId);
    if (ts === undefined) byKiosk.set(t.kioskId, [t]);
    else ts.push(t);
  }
  return [...byKiosk.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([kioskId, ts]) => {
      const last = ts[ts.length - 1] as TransitionRecord;
      let start = ts.length - 1;
      while (start > 0 && (ts[start - 1] as TransitionRecord).to === last.to) start -= 1;
      const seen = ts.find((t) => t.to === "online" || t.to === "degraded");
      return {
        kioskId,
        state: last.to,
        since: (ts[start] as TransitionRecord).at,
        changed: start > 0,
        reason: last.reason,
        components: JSON.stringify(last.components),
        firstSeenAt: seen?.at ?? null,
      };
    });
}

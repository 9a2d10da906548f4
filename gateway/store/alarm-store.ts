/**
 * The store's alarm-lifecycle side (migration 6): each alarm's steps with time and who, and the
 * outbox of escalation events. Kept apart from GatewayStore's alert methods; SqliteStore exposes it
 * as `store.alarms`.
 *
 *   pressed → received → delivered (to dispatch) → acknowledged (operator) → call-connected → closed
 *   plus presses (a new press count), escalated (nobody acknowledged in time; repeats)
 */
import type { OutboxAttempt, OutboxJob } from "../outbox/forwarder.js";
import type { AlertRow, Claim, ClaimHolder } from "./store.js";

export const alarmStepTypes = ["pressed", "received", "delivered", "acknowledged", "call-connected", "closed", "presses", "escalated"] as const;
export type AlarmStepType = (typeof alarmStepTypes)[number];

/** Steps an alarm goes through once; a second one of these is ignored. */
export const ONCE_STEPS: readonly AlarmStepType[] = ["pressed", "received", "delivered", "acknowledged", "closed"];

export interface AlarmStep {
  readonly alertId: string;
  readonly type: AlarmStepType;
  readonly at: string;
  /** Who: an operator's name, "kiosk", "dispatch", "gateway", "cli". */
  readonly actor: string | null;
  /** Step details: health at receipt, outcome, press count, escalation number. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export type AcknowledgeResult =
  | { readonly result: "acknowledged"; readonly at: string }
  | { readonly result: "already-acknowledged"; readonly by: string | null; readonly at: string }
  | { readonly result: "closed" }
  | { readonly result: "unknown" };

/** An open SOS alarm nobody has acknowledged: escalation timers are restored from these. */
export interface UnacknowledgedAlarm {
  readonly alertId: string;
  readonly kioskId: string;
  readonly receivedAt: string;
  readonly escalations: number;
  readonly lastEscalatedAt: string | null;
}

export type EscalationState = "due" | "raised" | "ended";

export interface QueuedEscalation {
  readonly eventId: string;
  readonly alertId: string;
  readonly number: number;
  readonly at: string;
  /** The JSON sent, built once: every retry sends the same bytes and signature. */
  readonly body: string;
}

export interface EscalationOutboxRow {
  readonly eventId: string;
  readonly alertId: string;
  readonly body: string;
  readonly attempts: number;
  readonly deliveredAt: string | null;
}

export interface AlarmStore {
  /** Records a step; false when it was a once-only step already recorded (or the alert is unknown). */
  recordStep(step: AlarmStep): Promise<boolean>;
  /** The first acknowledgement wins; an acknowledgement after the close is refused. */
  acknowledge(alertId: string, by: string, at: Date): Promise<AcknowledgeResult>;
  /** An alarm's steps, oldest first. */
  steps(alertId: string): Promise<AlarmStep[]>;
  /** Steps of many alarms at once (one query), oldest first per alarm. */
  stepsFor(alertIds: readonly string[]): Promise<Map<string, AlarmStep[]>>;
  /** Open SOS alarms without an acknowledgement, oldest first: all of them, or those among `alertIds`. */
  unacknowledged(alertIds?: readonly string[]): Promise<UnacknowledgedAlarm[]>;
  /**
   * The ids of the open SOS alarms, acknowledged or not: what a node of a cluster reads at each
   * escalation sync, before it asks unacknowledged() about the few it has not seen (escalation.ts).
   */
  openSosAlarmIds(): Promise<string[]>;
  /**
   * Stores an escalation step and queues its webhook event in one transaction, only while the alarm
   * is still open and unacknowledged and no escalation with this eventId was queued before (another
   * gateway raised the same one: escalation.ts makes the id from the alarm and the number); false
   * otherwise, nothing written.
   */
  recordEscalation(escalation: QueuedEscalation): Promise<boolean>;
  /**
   * Where an alarm's escalation `eventId` stands, read without taking a lock: `ended` (closed,
   * acknowledged or unknown), `raised` (queued already: another gateway of the cluster raised it) or `due`.
   */
  escalationState(alertId: string, eventId: string): Promise<EscalationState>;
  /** A kiosk's alerts, newest first. */
  alertsOfKiosk(kioskId: string, limit: number): Promise<AlertRow[]>;
  /** Sets (or clears, null) a kiosk's region; false when the kiosk is not registered. */
  setRegion(kioskId: string, region: string | null, now: Date): Promise<boolean>;

  // the escalation outbox (gateway/outbox/forwarder.ts)
  /** Claims due events (each alarm's oldest undelivered only), as GatewayStore.claimDispatches. */
  claimEscalations(dueBy: Date, limit: number, claim: Claim): Promise<OutboxJob[]>;
  nextEscalationAt(holder: ClaimHolder): Promise<Date | null>;
  recordEscalationAttempt(attempt: OutboxAttempt, nextAttemptAt: Date | null): Promise<void>;
  listEscalations(limit: number): Promise<EscalationOutboxRow[]>;
}

/**
 * The gateway's durable store, behind one interface: SQLite (store/sqlite/) for a single machine,
 * PostgreSQL (store/postgres/) for a replicated database server. Every method is async so either can
 * implement it; a store that cannot reach its database throws SosError STORE_UNAVAILABLE.
 */
import type { ReleaseStore } from "./release-store.js";
import type { LeaseStore } from "./lease-store.js";
import type { Alert, AlertKind, Location } from "../../shared/contract.js";
import type { AlarmStore } from "./alarm-store.js";
import type { DispatchUpdateStore } from "./dispatch-update-store.js";
import type { HealthStore } from "./health-store.js";
import type { SecurityStore } from "./security-store.js";
import type { SessionRecordStore } from "./session-store.js";
import type { SmsStore } from "./sms-store.js";

export interface KioskRecord {
  readonly kioskId: string;
  readonly secretHash: string;
  readonly name: string | null;
  readonly location: Location;
  /** An optional region for the fleet page's filter (`sos provision --region`). */
  readonly region?: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type RecordAlertResult =
  /** `job`: the dispatch job, held by the claim recordAlert was given (absent without one). */
  | { readonly outcome: "stored"; readonly receivedAt: string; readonly pressCount: number; readonly job?: DispatchJob }
  /** Seen before; `updated` when this copy carried a higher press count, which was stored. */
  | { readonly outcome: "duplicate"; readonly receivedAt: string; readonly pressCount: number; readonly updated: boolean }
  | { readonly outcome: "conflict"; readonly ownerKioskId: string };

export type CloseAlertResult = "closed" | "already-closed" | "unknown";

export interface PendingCommand {
  readonly commandId: string;
  readonly kioskId: string;
  /** The JSON published on the kiosk's commands topic. */
  readonly payload: string;
  readonly sentCount: number;
  readonly lastSentAt: number | null;
}

export type OperatorRole = "operator" | "admin";

export interface OperatorRecord {
  readonly name: string;
  /** scrypt, as for kiosk secrets (registry/credentials.ts). */
  readonly passwordHash: string;
  /** operator: alarms and calls; admin: that, and kiosks, tokens and operators. */
  readonly role: OperatorRole;
  readonly createdAt: string;
}

export type DeliveryState = "pending" | "delivered";

export interface AlertRow {
  readonly alertId: string;
  readonly kioskId: string;
  readonly kind: AlertKind;
  readonly pressedAt: string;
  readonly receivedAt: string;
  readonly delivery: DeliveryState;
  readonly attempts: number;
  readonly deliveredAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly lastError: string | null;
  readonly pressCount: number;
  readonly closedAt: string | null;
  readonly outcome: string | null;
  readonly closedBy: string | null;
}

export interface DispatchJob {
  readonly alertId: string;
  readonly body: string;
  readonly attempts: number;
}

export interface AttemptRecord {
  readonly alertId: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
}

/**
 * Who looks for claimable work: this process's claim owner and the jobs it holds itself (in flight,
 * or waiting for their record), which it never claims twice.
 */
export interface ClaimHolder {
  /** A process-unique id (gateway/store/claims.ts PROCESS_OWNER); claims are fenced by it. */
  readonly owner: string;
  readonly busy?: ReadonlySet<string>;
}

/**
 * A claim on outbox work, held in the database (claimed_by, claim_until), so that a second gateway
 * process on the same database never sends the same job at the same time. A claim ends when the
 * job's attempt is recorded, or when its lease runs out (its claimer died): then anyone may claim it.
 * The owner's own claims never block it (its `busy` set excludes what it holds).
 */
export interface Claim extends ClaimHolder {
  /** The lease's clock (the caller's clock: tests move it). */
  readonly now: Date;
  readonly leaseMs: number;
}

export interface RejectedMessage {
  readonly kioskId: string | null;
  readonly topic: string;
  readonly receivedAt: string;
  readonly code: string;
  readonly reason: string;
  /** The first bytes of the payload, kept for forensics. */
  readonly excerpt: string;
}

export interface GatewayStore {
  /** Supervision: kiosk states, heartbeats, the operations outbox (health-store.ts). */
  readonly health: HealthStore;
  /** The alarm lifecycle and the escalation outbox (alarm-store.ts). */
  readonly alarms: AlarmStore;
  /** Certificates, revocation, enrolment tokens (security-store.ts). */
  readonly security: SecurityStore;
  /** Operator sessions, by the SHA-256 of their secrets, so a restart logs nobody out (session-store.ts). */
  readonly sessions: SessionRecordStore;
  /** EIDO updates of alarms' incidents for dispatch (dispatch-update-store.ts). */
  readonly dispatchUpdates: DispatchUpdateStore;
  /** SMS keys and counters, alerts that arrived by SMS (sms-store.ts). */
  readonly sms: SmsStore;
  /** Agent rollouts in waves (release-store.ts). */
  readonly releases: ReleaseStore;
  /** Jobs that run on one gateway process of a cluster at a time (lease-store.ts). */
  readonly leases: LeaseStore;

  // kiosk registry
  getKiosk(kioskId: string): Promise<KioskRecord | undefined>;
  /** The registered ones of these kiosks, in no particular order (one statement for a reconnect storm). */
  getKiosks(kioskIds: readonly string[]): Promise<KioskRecord[]>;
  /** Registers a kiosk; refuses an existing id unless `replace`. Returns false when it existed and was kept. */
  putKiosk(kiosk: Omit<KioskRecord, "createdAt" | "updatedAt">, options: { replace: boolean; now: Date }): Promise<boolean>;
  listKiosks(): Promise<KioskRecord[]>;

  // alerts: stored and queued for dispatch in one transaction, deduplicated by alertId
  /**
   * Stores a new alert and its dispatch job in one transaction (or recognises a copy). With `claim`,
   * the job is stored claimed by it (no other process takes it within the lease) and returned, for
   * the caller's forwarder to send at once without a claim of its own.
   */
  recordAlert(alert: Alert, receivedAt: Date, dispatchBody: string, claim?: Claim): Promise<RecordAlertResult>;
  /**
   * Newest received first, at most `limit` (default 1 000); `open`: only alarms not closed yet (however
   * old: an open alarm is never out of view), and without a `limit` every one of them (open alarms are
   * bounded by the fleet; the console's queue must never leave one out).
   */
  listAlerts(options?: { limit?: number; open?: boolean }): Promise<AlertRow[]>;
  getAlert(alertId: string): Promise<AlertRow | undefined>;

  // dispatch outbox
  /**
   * Claims pending jobs due by `dueBy` (SOS alarms before test alarms, each oldest first) that nobody
   * else holds a live claim on, excluding `claim.busy`; each is held for `claim.leaseMs`.
   */
  claimDispatches(dueBy: Date, limit: number, claim: Claim): Promise<DispatchJob[]>;
  /** When the earliest pending job not in `holder.busy` can be claimed (due, and any other owner's lease over), or null. */
  nextDispatchAt(holder: ClaimHolder): Promise<Date | null>;
  /** Records one attempt and ends the job's claim; `nextAttemptAt` null means delivered. */
  recordAttempt(attempt: AttemptRecord, nextAttemptAt: Date | null): Promise<void>;
  attemptsFor(alertId: string): Promise<AttemptRecord[]>;
  countByDelivery(): Promise<Record<DeliveryState, number>>;

  /**
   * Closes an alarm and queues the command that tells its kiosk, in one transaction.
   * `command` builds the command's JSON from the kiosk id once the alert is found.
   */
  closeAlert(
    alertId: string,
    close: { outcome: string; closedBy: string; now: Date; commandId: string; command: (kioskId: string) => string },
  ): Promise<CloseAlertResult>;
  /** Commands the kiosk has not confirmed yet, oldest first (all kiosks, or one). */
  pendingCommands(kioskIds?: string | readonly string[]): Promise<PendingCommand[]>;
  /**
   * Claims an unconfirmed command for sending and counts the send, atomically: refused (false) when
   * it was sent less than `resendMs` before `at` (by any gateway process) unless `force` (the kiosk
   * just connected), and when it is confirmed or unknown. last_sent_at is the claim's lease.
   */
  claimCommandSend(commandId: string, at: Date, options: { resendMs: number; force: boolean }): Promise<boolean>;
  /** Records the kiosk's result; only the kiosk the command was for can confirm it. Returns whether it matched. */
  /** "confirmed" the first time, "again" for a repeated result (kept as it was), "unknown" for a command this kiosk was not sent. */
  confirmCommand(commandId: string, kioskId: string, result: string, at: Date): Promise<"confirmed" | "again" | "unknown">;

  // operators
  getOperator(name: string): Promise<OperatorRecord | undefined>;
  /**
   * Adds an operator; refuses an existing name unless `replace` (a new password and role), which
   * deletes the operator's sessions in the same transaction. Returns false when it existed and was kept.
   */
  putOperator(operator: { name: string; passwordHash: string; role?: OperatorRole }, options: { replace: boolean; now: Date }): Promise<boolean>;
  listOperators(): Promise<OperatorRecord[]>;
  /** Removes the operator and its sessions; returns false when there was no such operator. */
  removeOperator(name: string): Promise<boolean>;

  recordRejected(message: RejectedMessage): Promise<void>;
  listRejected(limit: number): Promise<RejectedMessage[]>;

  close(): Promise<void>;
}

import type { AlertKind } from "../shared/contract.js";
import type { KioskStateName } from "../shared/ops.js";
import type { AlarmStepType } from "./store/alarm-store.js";

/** What the gateway's features tell each other (and the demo, metrics and tests). */
export interface GatewayEvents {
  /** `channel`: how it came (absent = mqtt); "sms" is shown as "via SMS". */
  "alert.stored": { alertId: string; kioskId: string; kind: AlertKind; pressedAt: string; receivedAt: string; channel?: "mqtt" | "sms" };
  /** An SMS that claimed to be an alert was refused (forged, replayed, unknown kiosk, malformed). */
  "sms.refused": { kioskId: string | null; code: string; reason: string; sender: string };
  "alert.duplicate": { alertId: string; kioskId: string };
  /** More presses were counted on an open alarm. */
  "alert.presses": { alertId: string; kioskId: string; pressCount: number };
  /** An operator (or the CLI) closed an alarm; its kiosk is told through the command outbox. */
  "alert.closed": { alertId: string; outcome: string; closedBy: string };
  "command.confirmed": { commandId: string; kioskId: string };
  "alert.rejected": { kioskId: string | null; topic: string; code: string; reason: string };
  "alert.delivered": { alertId: string; attempt: number; httpStatus: number | null; deliveredAt: string };
  /** An EIDO update of an alarm's incident reached dispatch (eventId `{alertId}:{step}`). */
  "dispatch.update.delivered": { eventId: string; attempt: number; httpStatus: number | null; deliveredAt: string };
  "dispatch.failed": { alertId: string; attempt: number; error: string; retryInMs: number };
  /** Dispatch has been failing as a whole (its circuit open) for `dispatch.unreachableAfterMs`. */
  "dispatch.unreachable": { since: string; at: string; lastError: string };
  /** Dispatch answers again after it was reported unreachable; `downMs` from its first failure. */
  "dispatch.restored": { since: string; at: string; downMs: number; lastError: string };
  /** The store stopped answering (store/availability.ts): alerts are not acknowledged until `store.up`. */
  "store.down": { since: string; lastError: string };
  /** The store answers again after `store.down`; `downMs` from the first failed call. */
  "store.up": { since: string; at: string; downMs: number };
  /** A kiosk's new connection authenticated, before its CONNACK: nothing it sends on it has been handled yet. */
  "kiosk.authenticated": { kioskId: string };
  "kiosk.connected": { kioskId: string };
  /** A kiosk's live connection was taken over by a new one with its identity (broker/takeovers.ts). */
  "kiosk.takeover": Record<string, never>;
  "kiosk.disconnected": { kioskId: string };
  /** A kiosk's heartbeat arrived (`valid` false: it did not match the schema). */
  "kiosk.heartbeat": { kioskId: string; valid: boolean; dropped?: boolean };
  /** A kiosk's status message did not match the contract (dropped, counted, logged once a minute). */
  "kiosk.invalid": { kioskId: string; topic: "status" };
  /** The gateway's event loop ran this late (supervision/stall.ts). */
  "gateway.stalled": { ms: number; at: string };
  /** Supervision: a kiosk's state (or its failing components) changed. */
  "kiosk.state": { kioskId: string; from: KioskStateName; to: KioskStateName; reason: string; components: readonly string[]; at: string };
  /**
   * The broker refused a connection, a publish or a subscription: `reason` is a fixed label
   * ("bad-credentials", "qos2", "retain", "payload-too-large", "too-many-filters", "not-allowed" …),
   * `role` the refused client's ("kiosk", "operator", "none"; publishes and subscriptions).
   */
  "mqtt.refused": { what: "connection" | "publish" | "subscribe"; reason: string; role?: string };
  /** A call message broke the contract or named an alarm not its kiosk's (alarms/call-guard.ts): call/up ones are dropped. */
  "call.refused": { direction: "up" | "down"; reason: string; kioskId: string | null };
  /** The HTTP(S) port refused or cut a connection (http/connection-guard.ts: a limit, a timeout, another origin on /mqtt). */
  "http.refused": { reason: string };
  /** A step of an alarm's lifecycle was stored (gateway/alarms/): pages get the updated alarm. */
  "alarm.step": { alertId: string; type: AlarmStepType; actor: string | null };
  "escalation.delivered": { eventId: string; attempt: number };
  "ops.delivered": { eventId: string; attempt: number };
  "ops.failed": { eventId: string; attempt: number; error: string; retryInMs: number };
}

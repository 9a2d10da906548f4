import type { AlertKind } from "../shared/contract.js";

/** What the gateway's features tell each other (and the demo, metrics and tests). */
export interface GatewayEvents {
  "alert.stored": { alertId: string; kioskId: string; kind: AlertKind; pressedAt: string; receivedAt: string };
  "alert.duplicate": { alertId: string; kioskId: string };
  /** More presses were counted on an open alarm. */
  "alert.presses": { alertId: string; kioskId: string; pressCount: number };
  /** An operator (or the CLI) closed an alarm; its kiosk is told through the command outbox. */
  "alert.closed": { alertId: string; outcome: string; closedBy: string };
  "command.confirmed": { commandId: string; kioskId: string };
  "alert.rejected": { kioskId: string | null; topic: string; code: string; reason: string };
  "alert.delivered": { alertId: string; attempt: number; httpStatus: number | null; deliveredAt: string };
  "dispatch.failed": { alertId: string; attempt: number; error: string; retryInMs: number };
  "kiosk.connected": { kioskId: string };
  "kiosk.disconnected": { kioskId: string };
}

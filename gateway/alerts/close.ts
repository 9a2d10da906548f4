/**
 * Closing an alarm: stored with its outcome and who closed it, and the kiosk told through the
 * command outbox in the same transaction (its yellow light goes off when it gets the command).
 * Used by `sos alerts close` and by the operator console (POST /api/alarms/<alertId>/close).
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../../shared/clock.js";
import type { Command } from "../../shared/contract.js";
import type { CloseAlertResult, GatewayStore } from "../store/store.js";

export interface CloseRequest {
  readonly alertId: string;
  readonly outcome: string;
  readonly closedBy: string;
}

export async function closeAlarm(store: GatewayStore, request: CloseRequest, clock: Clock): Promise<{ result: CloseAlertResult; commandId: string }> {
  const now = clock.now();
  const commandId = randomUUID();
  const result = await store.closeAlert(request.alertId, {
    outcome: request.outcome,
    closedBy: request.closedBy,
    now,
    commandId,
    command: () => {
      const command: Command = { v: 1, commandId, type: "close-alarm", alertId: request.alertId, outcome: request.outcome, closedAt: now.toISOString() };
      return JSON.stringify(command);
    },
  });
  // The lifecycle's last step, with who closed it (the console's timeline; migration 6).
  if (result === "closed") {
    await store.alarms.recordStep({ alertId: request.alertId, type: "closed", at: now.toISOString(), actor: request.closedBy, detail: { outcome: request.outcome } });
  }
  return { result, commandId };
}

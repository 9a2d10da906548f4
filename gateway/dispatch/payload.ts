import type { Alert } from "../../shared/contract.js";
import { DISPATCH_SCHEMA_ID, type DispatchBody } from "../../shared/dispatch.js";
import type { KioskRecord } from "../store/store.js";

/**
 * Builds the webhook body once, when the alert is stored; every retry sends the same bytes, so the
 * signature and the idempotency key stay the same. The registry's location is preferred over the
 * kiosk's own (a technician set it at provisioning; a tampered kiosk cannot move itself).
 */
export function buildDispatchBody(alert: Alert, kiosk: KioskRecord | undefined, receivedAt: Date, agency: string, snapshotUrl?: string, channel?: "mqtt" | "sms"): string {
  const location = kiosk?.location ?? alert.location;
  const body: DispatchBody = {
    schema: DISPATCH_SCHEMA_ID,
    alertId: alert.alertId,
    incidentTrackingIdentifier: `urn:emergency:uid:incidentid:${alert.alertId}:${agency}`,
    kioskId: alert.kioskId,
    kioskName: kiosk?.name ?? null,
    kind: alert.kind,
    test: alert.kind === "test",
    pressedAt: alert.pressedAt,
    receivedAt: receivedAt.toISOString(),
    location: { lat: location.lat, lon: location.lon, address: location.address, source: kiosk === undefined ? "kiosk" : "registry" },
    ...(snapshotUrl === undefined ? {} : { snapshotUrl }),
    ...(channel === "sms" ? { channel } : {}),
  };
  return JSON.stringify(body);
}

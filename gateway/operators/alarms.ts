/**
 * Operator alarms: when an alert is stored, every connected operator page is told at once (QoS 1
 * on OPERATOR_ALARMS_TOPIC) with the kiosk's registered place and where its snapshot will be, so
 * the alarm is on screen before the kiosk's call rings. The snapshot link is a path on the
 * gateway's own origin (the page fetches it with its session cookie); it is 404 until it arrives.
 */
import type { Logger } from "pino";
import type { OperatorAlarm } from "../../shared/call.js";
import type { GatewayEvents } from "../events.js";
import { snapshotPath } from "../snapshots/links.js";
import type { AlertRow, GatewayStore, KioskRecord } from "../store/store.js";

type Stored = GatewayEvents["alert.stored"];

/** `known`: the kiosk's record when the caller has read it already (undefined: read here). */
export async function buildOperatorAlarm(store: GatewayStore, alert: Stored | AlertRow, known?: { kiosk: KioskRecord | undefined }): Promise<OperatorAlarm> {
  const kiosk = known === undefined ? await store.getKiosk(alert.kioskId) : known.kiosk;
  // Every stored alert's kiosk is registered (it authenticated); the fallback only guards a kiosk
  // deleted from the registry since.
  const location = kiosk?.location ?? { lat: 0, lon: 0, address: "(kiosk no longer registered)" };
  return {
    v: 1,
    alertId: alert.alertId,
    kioskId: alert.kioskId,
    kioskName: kiosk?.name ?? null,
    kind: alert.kind,
    pressedAt: alert.pressedAt,
    receivedAt: alert.receivedAt,
    location: { lat: location.lat, lon: location.lon, address: location.address },
    snapshotUrl: snapshotPath(alert.alertId),
    ...("channel" in alert && alert.channel === "sms" ? { channel: "sms" as const } : {}),
  };
}

/** Publishes an alarm for one stored alert; a failure is logged (the page also lists open alarms over HTTP). */
export async function announceAlarm(store: GatewayStore, publish: (alarm: OperatorAlarm) => Promise<void>, stored: Stored, log: Logger): Promise<void> {
  try {
    const alarm = await buildOperatorAlarm(store, stored);
    await publish(alarm);
    log.info({ alertId: stored.alertId, kioskId: stored.kioskId }, "operator alarm published");
  } catch (err) {
    log.error({ err, alertId: stored.alertId }, "operator alarm could not be published");
  }
}

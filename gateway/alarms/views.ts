/**
 * What the console shows, built from the store: an alarm with its lifecycle (AlarmView) and a kiosk
 * of the fleet (FleetKiosk). The same objects go out over HTTP and on the event stream.
 */
import { type UpdateReport, updateReportSchema } from "../../shared/health.js";
import type { RolloutRecord } from "../store/release-store.js";
import type { OperatorAlarm } from "../../shared/call.js";
import type { KioskStateName } from "../../shared/ops.js";
import { buildOperatorAlarm } from "../operators/alarms.js";
import type { AlarmStep } from "../store/alarm-store.js";
import type { KioskHealthRow } from "../store/health-store.js";
import type { AlertRow, GatewayStore, KioskRecord } from "../store/store.js";
import type { KioskView } from "../supervision/supervisor.js";

export type AlarmStatus = "received" | "delivered" | "acknowledged" | "call-connected" | "closed";

export interface AlarmView extends OperatorAlarm {
  readonly status: AlarmStatus;
  readonly pressCount: number;
  readonly region: string | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: string | null;
  readonly escalations: number;
  readonly closedAt: string | null;
  readonly outcome: string | null;
  readonly closedBy: string | null;
  /** The kiosk's supervision state when the alarm was received. */
  readonly health: { readonly state: string; readonly since: string | null; readonly components: readonly string[] } | null;
  readonly steps: readonly AlarmStep[];
}

const has = (steps: readonly AlarmStep[], type: AlarmStep["type"]): AlarmStep | undefined => steps.find((s) => s.type === type);

export function statusOf(alert: AlertRow, steps: readonly AlarmStep[]): AlarmStatus {
  if (alert.closedAt !== null) return "closed";
  if (has(steps, "call-connected") !== undefined) return "call-connected";
  if (has(steps, "acknowledged") !== undefined) return "acknowledged";
  if (alert.deliveredAt !== null) return "delivered";
  return "received";
}

export async function alarmViews(store: GatewayStore, alerts: readonly AlertRow[]): Promise<AlarmView[]> {
  const steps = await store.alarms.stepsFor(alerts.map((a) => a.alertId));
  const kiosks = new Map<string, KioskRecord | undefined>();
  const out: AlarmView[] = [];
  for (const alert of alerts) {
    if (!kiosks.has(alert.kioskId)) kiosks.set(alert.kioskId, await store.getKiosk(alert.kioskId));
    const kiosk = kiosks.get(alert.kioskId);
    const s = steps.get(alert.alertId) ?? [];
    const ack = has(s, "acknowledged");
    const received = has(s, "received")?.detail.health as AlarmView["health"] | undefined;
    out.push({
      ...(await buildOperatorAlarm(store, alert, { kiosk })),
      status: statusOf(alert, s),
      pressCount: alert.pressCount,
      region: kiosk?.region ?? null,
      acknowledgedBy: ack?.actor ?? null,
      acknowledgedAt: ack?.at ?? null,
      escalations: s.filter((x) => x.type === "escalated").length,
      closedAt: alert.closedAt,
      outcome: alert.outcome,
      closedBy: alert.closedBy,
      health: received ?? null,
      steps: s,
    });
  }
  return out;
}

export async function alarmView(store: GatewayStore, alertId: string): Promise<AlarmView | undefined> {
  const alert = await store.getAlert(alertId);
  return alert === undefined ? undefined : (await alarmViews(store, [alert]))[0];
}

/**
 * The console's queue order (the page sorts its cards the same way: gateway/console/operator/alarm-order.js
 * queueOrder): SOS before test; waiting (not acknowledged, escalated or not) before acknowledged; within
 * each, the one that has waited longest first. A newer alarm never pushes an older one nobody has taken
 * below the fold.
 */
export function queueOrder(a: AlarmView, b: AlarmView): number {
  const kind = (x: AlarmView): number => (x.kind === "test" ? 1 : 0);
  const taken = (x: AlarmView): number => (x.acknowledgedBy !== null ? 1 : 0);
  return kind(a) - kind(b) || taken(a) - taken(b) || a.receivedAt.localeCompare(b.receivedAt) || a.alertId.localeCompare(b.alertId);
}

/**
 * Every open alarm, in the console's queue order (queueOrder). No limit: the page drops each card not
 * in this answer (it was closed meanwhile), so an alarm left out would vanish from the queue; open
 * alarms are bounded by the fleet (a kiosk's further presses count on its open alarm).
 */
export async function openAlarms(store: GatewayStore): Promise<AlarmView[]> {
  const open = await alarmViews(store, await store.listAlerts({ open: true }));
  return open.sort(queueOrder);
}

export interface FleetKiosk {
  readonly kioskId: string;
  readonly name: string | null;
  readonly address: string;
  readonly region: string | null;
  readonly location: { readonly lat: number; readonly lon: number } | null;
  readonly state: KioskStateName;
  readonly since: string | null;
  readonly reason: string | null;
  readonly components: readonly string[];
  readonly lastHeartbeatAt: string | null;
  readonly lastTestAlarmAt: string | null;
}

const newest = (...xs: (string | null | undefined)[]): string | null =>
  xs.reduce<string | null>((best, x) => (x == null ? best : best === null || Date.parse(x) > Date.parse(best) ? x : best), null);

/** One kiosk as the fleet page shows it: the store's row, the registry's place, the supervisor's live state. */
export function fleetKiosk(row: KioskHealthRow, kiosk: KioskRecord | undefined, live: KioskView | undefined, lastBeat: string | undefined): FleetKiosk {
  const decommissioned = row.decommissionedAt !== null;
  return {
    kioskId: row.kioskId,
    name: row.name,
    address: row.address,
    region: kiosk?.region ?? null,
    location: kiosk === undefined ? null : { lat: kiosk.location.lat, lon: kiosk.location.lon },
    state: live?.state ?? (decommissioned ? "decommissioned" : (row.state ?? "never-seen")),
    since: live?.since ?? row.since,
    reason: live?.reason ?? row.reason,
    components: live?.components ?? row.components,
    lastHeartbeatAt: newest(row.lastHeartbeatAt, lastBeat),
    lastTestAlarmAt: newest(row.lastTestAlarmAt, row.lastTestAlertAt),
  };
}

/** The agent release a kiosk runs and its update state, from its latest heartbeat (null before one). */
export interface KioskSoftware {
  readonly version: string | null;
  readonly update: UpdateReport | null;
}

export function kioskSoftware(report: string | null): KioskSoftware | null {
  if (report === null) return null;
  let parsed: { agentVersion?: unknown; update?: unknown };
  try {
    parsed = JSON.parse(report) as { agentVersion?: unknown; update?: unknown };
  } catch {
    return null;
  }
  const update = updateReportSchema.safeParse(parsed.update);
  if (update.success) return { version: update.data.current, update: update.data };
  return { version: typeof parsed.agentVersion === "string" ? parsed.agentVersion : null, update: null };
}

/** A rollout as the fleet page shows it. */
export interface RolloutView {
  readonly version: string;
  readonly target: string;
  /** 1-based. */
  readonly wave: number;
  readonly waves: number;
  readonly kiosks: number;
  readonly state: RolloutRecord["state"];
  readonly reason: string | null;
  /** Kiosks a wave deadline passed over without their answer. */
  readonly noAnswer: number;
  readonly updatedAt: string;
}

export function rolloutView(r: RolloutRecord): RolloutView {
  return { version: r.version, target: r.target, wave: r.wave + 1, waves: r.waves.length, kiosks: r.waves.flat().length, state: r.state, reason: r.reason, noAnswer: r.noAnswer.length, updatedAt: r.updatedAt };
}

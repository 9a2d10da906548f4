/**
 * The console's alarm and fleet API, for logged-in operators (every route checks through one
 * `authorize` function, where a role check goes later):
 *
 *   GET  /api/alarm-queue                    open alarms with their lifecycle, SOS before test, newest first
 *   GET  /api/alarms/<alertId>               one alarm with its timeline
 *   POST /api/alarms/<alertId>/acknowledge   {} → the first acknowledgement wins (stops the sound and escalation)
 *   POST /api/alarms/<alertId>/close         { outcome, note?, force? } → closed; the kiosk is told (its light goes idle);
 *                                            409 CALL_IN_PROGRESS while another operator is in a call on it, unless `force`
 *   GET  /api/fleet                          every kiosk: state, since, last heartbeat, failing parts, last test alarm, place; the newest rollouts
 *   GET  /api/kiosks/<kioskId>               one kiosk with its alarms and state history
 *   GET  /api/events                         server-sent events: `alarm`, `kiosk`, `heartbeats`
 */
import { z } from "zod";
import type { CloseRequest } from "../alerts/close.js";
import type { AlarmsFeature } from "../alarms/feature.js";
import { alarmView, openAlarms } from "../alarms/views.js";
import type { Session } from "../operators/sessions.js";
import type { CloseAlertResult, GatewayStore } from "../store/store.js";
import { HttpError, readJson, type RequestContext, type RouteGroup, requireMethod, sendOk } from "./respond.js";

/** What a request wants to do; the one place that decides who may (today: any logged-in operator). */
export type ConsoleAction = "view" | "handle-alarm";
export type Authorize = (ctx: RequestContext, action: ConsoleAction) => Session;

export const closeOutcomes = ["help-sent", "false-alarm", "prank", "test", "other"] as const;
/** `force`: close even while another operator is in a call with the kiosk (closing ends that call). */
const closeSchema = z.object({ outcome: z.enum(closeOutcomes), note: z.string().max(400).optional(), force: z.boolean().optional() });

const ALARM = /^\/api\/alarms\/([A-Za-z0-9_-]{1,64})(?:\/(acknowledge|close))?$/;
const KIOSK = /^\/api\/kiosks\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/;

export interface AlarmRoutesDeps {
  readonly authorize: Authorize;
  readonly store: GatewayStore;
  readonly alarms: AlarmsFeature;
  readonly close: (request: CloseRequest) => Promise<CloseAlertResult>;
}

export function alarmRoutes(deps: AlarmRoutesDeps): RouteGroup {
  const { authorize, store, alarms } = deps;

  const alarmAction = async (ctx: RequestContext, alertId: string, action: string | undefined): Promise<void> => {
    if (action === undefined) {
      requireMethod(ctx, "GET");
      authorize(ctx, "view");
      const view = await alarmView(store, alertId);
      if (view === undefined) throw new HttpError(404, "ALARM_UNKNOWN", `no alarm ${alertId}`);
      return sendOk(ctx.res, view);
    }
    requireMethod(ctx, "POST");
    const session = authorize(ctx, "handle-alarm");
    if (action === "acknowledge") {
      await readJson(ctx.req, 1_024);
      const r = await alarms.acknowledge(alertId, session.operator);
      if (r.result === "unknown") throw new HttpError(404, "ALARM_UNKNOWN", `no alarm ${alertId}`);
      if (r.result === "closed") throw new HttpError(409, "ALARM_CLOSED", `alarm ${alertId} is already closed`);
      return sendOk(ctx.res, { acknowledged: r.result === "acknowledged", by: r.result === "acknowledged" ? session.operator : r.by, at: r.at });
    }
    const parsed = closeSchema.safeParse(await readJson(ctx.req, 4_096));
    if (!parsed.success) throw new HttpError(400, "BODY_INVALID", `send {"outcome": one of ${closeOutcomes.join(", ")}, "note": optional text, "force": optional true}`);
    // Closed or unknown first: a call entry left over must not hide that.
    const alert = await store.getAlert(alertId);
    if (alert === undefined) throw new HttpError(404, "ALARM_UNKNOWN", `no alarm ${alertId}`);
    if (alert.closedAt !== null) throw new HttpError(409, "ALARM_CLOSED", `alarm ${alertId} is already closed`);
    const inCall = alarms.closingCall(alertId, alert.kioskId, session.operator, parsed.data.force === true);
    if (inCall !== undefined) {
      const who = inCall ?? "an operator (the kiosk did not say who)";
      throw new HttpError(409, "CALL_IN_PROGRESS", `${who} is in a call with this kiosk: ask them to close the alarm, or close it anyway (that ends their call)`);
    }
    const note = parsed.data.note?.trim();
    const outcome = note === undefined || note === "" ? parsed.data.outcome : `${parsed.data.outcome}: ${note}`;
    const result = await deps.close({ alertId, outcome, closedBy: session.operator });
    if (result === "unknown") throw new HttpError(404, "ALARM_UNKNOWN", `no alarm ${alertId}`);
    if (result === "already-closed") throw new HttpError(409, "ALARM_CLOSED", `alarm ${alertId} is already closed`);
    sendOk(ctx.res, { closed: true, outcome });
  };

  return async (ctx) => {
    if (ctx.path === "/api/alarm-queue") {
      requireMethod(ctx, "GET");
      authorize(ctx, "view");
      sendOk(ctx.res, { alarms: await openAlarms(store) });
      return true;
    }
    if (ctx.path === "/api/fleet") {
      requireMethod(ctx, "GET");
      authorize(ctx, "view");
      const [kiosks, rollouts] = await Promise.all([alarms.fleet(), alarms.rollouts()]);
      sendOk(ctx.res, { kiosks, rollouts });
      return true;
    }
    if (ctx.path === "/api/events") {
      requireMethod(ctx, "GET");
      // The stream ends with the session that opened it (logout, expiry: stream.ts).
      alarms.stream.add(ctx.res, authorize(ctx, "view").key);
      return true;
    }
    const alarm = ALARM.exec(ctx.path);
    if (alarm !== null) {
      await alarmAction(ctx, alarm[1] ?? "", alarm[2]);
      return true;
    }
    const kiosk = KIOSK.exec(ctx.path);
    if (kiosk !== null) {
      requireMethod(ctx, "GET");
      authorize(ctx, "view");
      const page = await alarms.kioskPage(kiosk[1] ?? "");
      if (page === undefined) throw new HttpError(404, "KIOSK_UNKNOWN", `no kiosk ${kiosk[1] ?? ""}`);
      sendOk(ctx.res, page);
      return true;
    }
    return false;
  };
}

/**
 * The gateway's own operations events, on the same webhook as the kiosks' (`sos.ops.gateway/v1`):
 * dispatch unreachable for `dispatch.unreachableAfterMs` and restored (dispatch/reachability.ts
 * announces both once per outage), and the event loop stalling (supervision/stall.ts). Stalls come
 * in bursts under CPU starvation: the first is reported at once, later ones at most every
 * `stallReportMs`, with how many there were and the longest.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { EventBus } from "../../shared/events.js";
import { type GatewayOpsEvent, type GatewayOpsEventType, OPS_GATEWAY_SCHEMA_ID } from "../../shared/ops.js";
import type { GatewayEvents } from "../events.js";
import type { QueuedOpsEvent } from "../store/health-store.js";

export const STALL_REPORT_MS = 10 * 60_000;

export function buildGatewayOpsEvent(
  type: GatewayOpsEventType,
  fields: { since: string; at: string; lastError?: string | null; durationMs?: number | null; stalls?: number | null },
  gateway = hostname(),
): QueuedOpsEvent {
  const eventId = randomUUID();
  const body: GatewayOpsEvent = {
    schema: OPS_GATEWAY_SCHEMA_ID,
    eventId,
    type,
    gateway,
    since: fields.since,
    at: fields.at,
    lastError: fields.lastError ?? null,
    durationMs: fields.durationMs === undefined || fields.durationMs === null ? null : Math.max(0, Math.round(fields.durationMs)),
    stalls: fields.stalls ?? null,
  };
  return { eventId, kioskId: null, type, body: JSON.stringify(body), createdAt: fields.at };
}

/** Subscribes to the bus; returns the unsubscribers. `queue` is the supervision writer's gatewayEvent. */
export function reportGatewayEvents(
  bus: EventBus<GatewayEvents>,
  queue: (event: QueuedOpsEvent) => void,
  options: { now: () => number; stallReportMs?: number },
): (() => void)[] {
  const every = options.stallReportMs ?? STALL_REPORT_MS;
  let lastReport = Number.NEGATIVE_INFINITY;
  let unreported = { stalls: 0, longestMs: 0, firstAt: "" };
  let flushTimer: NodeJS.Timeout | undefined;

  const reportStalls = (at: string): void => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (unreported.stalls === 0) return;
    lastReport = options.now();
    queue(buildGatewayOpsEvent("gateway-stalled", { since: unreported.firstAt, at, durationMs: unreported.longestMs, stalls: unreported.stalls }));
    unreported = { stalls: 0, longestMs: 0, firstAt: "" };
  };

  return [
    bus.on("dispatch.unreachable", "gateway-ops", (e) => queue(buildGatewayOpsEvent("dispatch-unreachable", { since: e.since, at: e.at, lastError: e.lastError }))),
    bus.on("dispatch.restored", "gateway-ops", (e) =>
      queue(buildGatewayOpsEvent("dispatch-restored", { since: e.since, at: e.at, lastError: e.lastError, durationMs: e.downMs })),
    ),
    bus.on("gateway.stalled", "gateway-ops", (e) => {
      if (unreported.stalls === 0) unreported.firstAt = e.at;
      unreported = { stalls: unreported.stalls + 1, longestMs: Math.max(unreported.longestMs, e.ms), firstAt: unreported.firstAt };
      const wait = lastReport + every - options.now();
      if (wait <= 0) return reportStalls(e.at);
      // The stalls in between are reported when the interval is over (the last of a burst is not lost).
      flushTimer ??= setTimeout(() => reportStalls(new Date(options.now()).toISOString()), wait);
      flushTimer.unref();
    }),
    () => clearTimeout(flushTimer),
  ];
}

/**
 * Prometheus metrics (prom-client, one registry per gateway) fed from the event bus, plus gauges read
 * at scrape time. Served at /metrics on the HTTP port (http/metrics-routes.ts). Names: docs/supervision.md.
 */
import type { Logger } from "pino";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventBus } from "../../shared/events.js";
import { type KioskStateName, kioskStateNames } from "../../shared/ops.js";
import type { GatewayEvents } from "../events.js";
import type { NodeWatchState } from "../cluster/node-watch.js";
import type { RoutingState } from "../cluster/routing.js";
import type { GatewayStore } from "../store/store.js";

export interface MetricsSources {
  readonly events: EventBus<GatewayEvents>;
  readonly store: GatewayStore;
  readonly log: Logger;
  /** Kiosks by supervision state, now. */
  readonly kioskStates: () => Record<KioskStateName, number>;
  /** Open MQTT connections (kiosks and operator pages). */
  readonly mqttConnections: () => number;
  /** Cluster nodes only: MQTT routing between the nodes (gateway/cluster/routing.ts). */
  readonly routing?: () => RoutingState;
  /** Cluster nodes only: what the node reads in the other nodes' beats (gateway/cluster/node-watch.ts). */
  readonly nodeWatch?: () => NodeWatchState;
}

/** Press-to-dispatch scale: most alerts take milliseconds; retries during an outage take minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export class GatewayMetrics {
  readonly registry = new Registry();

  constructor(sources: MetricsSources) {
    const { events, store, log } = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const routing = sources.routing;
    if (routing !== undefined) {
      new Gauge({
        name: "sos_cluster_routing_up",
        help: "1 while MQTT is routed to the other gateway nodes (both Redis connections up), else 0",
        registers,
        collect() {
          this.set(routing().up ? 1 : 0);
        },
      });
      new Counter({
        name: "sos_cluster_messages_total",
        help: "MQTT messages between gateway nodes: routed to the others, received from them, not routed (Redis down), refused (a kiosk's ack from Redis: acks are always local)",
        labelNames: ["result"],
        registers,
        collect() {
          const s = routing();
          this.reset();
          this.inc({ result: "routed" }, s.routed);
          this.inc({ result: "received" }, s.received);
          this.inc({ result: "not-routed" }, s.notRouted);
          this.inc({ result: "refused" }, s.refused);
        },
      });
    }
    const nodeWatch = sources.nodeWatch;
    if (nodeWatch !== undefined) {
      new Gauge({
        name: "sos_cluster_node_id_duplicates",
        help: "Other live gateway processes beating under this node's --node-id (each drops the other's routed messages as its own): 0 unless two run with one id",
        registers,
        collect() {
          this.set(nodeWatch().duplicates.length);
        },
      });
      new Gauge({
        name: "sos_cluster_clock_skew_seconds",
        help: "This node's clock minus the store's (PostgreSQL's), measured once a beat: nodes judge each other's beats by their own clocks, so past ±2 s kiosks and jobs may move wrongly (check NTP)",
        registers,
        collect() {
          const ms = nodeWatch().clockSkewMs;
          if (ms !== null) this.set(ms / 1_000);
        },
      });
      if (routing !== undefined) {
        new Gauge({
          name: "sos_cluster_nodes_unheard",
          help: "Gateway nodes beating in the store but not heard over the MQTT routing (on another Redis, or none): 0 unless the routing is split",
          registers,
          collect() {
            this.set(nodeWatch().unheard?.length ?? 0);
          },
        });
      }
    }

    new Gauge({
      name: "sos_kiosks",
      help: "Kiosks by supervision state",
      labelNames: ["state"],
      registers,
      collect() {
        const counts = sources.kioskStates();
        for (const state of kioskStateNames) this.set({ state }, counts[state]);
      },
    });
    const transitions = new Counter({ name: "sos_kiosk_transitions_total", help: "Supervision transitions, by the state entered", labelNames: ["to"], registers });
    const heartbeats = new Counter({ name: "sos_heartbeats_received_total", help: "Kiosk heartbeats received, by whether they matched the schema (dropped: over the rate, unread)", labelNames: ["result"], registers });
    const received = new Counter({ name: "sos_alerts_received_total", help: "Alerts stored (first copies), by kind", labelNames: ["kind"], registers });
    const duplicates = new Counter({ name: "sos_alerts_duplicate_total", help: "Alert copies received again and acknowledged again", registers });
    const rejected = new Counter({ name: "sos_alerts_rejected_total", help: "Alert messages rejected, by error code", labelNames: ["code"], registers });
    const delivered = new Counter({ name: "sos_alerts_delivered_total", help: "Alerts delivered to dispatch", registers });
    new Gauge({
      name: "sos_alerts_pending",
      help: "Alerts stored and not yet delivered to dispatch",
      registers,
      async collect() {
        // While the store is down the last value stays: sos_store_up says why it does not move.
        const n = await Promise.resolve().then(() => store.health.pendingDispatchCount()).catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    });
    const attempts = new Counter({ name: "sos_dispatch_attempts_total", help: "Dispatch webhook attempts, by result", labelNames: ["result"], registers });
    const latency = new Histogram({
      name: "sos_dispatch_latency_seconds",
      help: "From the gateway receiving an alert to dispatch acknowledging it",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const opsAttempts = new Counter({ name: "sos_ops_attempts_total", help: "Operations webhook attempts, by result", labelNames: ["result"], registers });
    new Gauge({
      name: "sos_ops_events_pending",
      help: "Operations events not yet delivered",
      registers,
      async collect() {
        const n = await Promise.resolve().then(() => store.health.pendingOpsCount()).catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    });
    new Gauge({
      name: "sos_mqtt_connections",
      help: "Open MQTT connections (kiosks and operator pages)",
      registers,
      collect() {
        this.set(sources.mqttConnections());
      },
    });
    const refusedConnections = new Counter({ name: "sos_mqtt_refused_connections_total", help: "MQTT connections refused, by MQTT reason", labelNames: ["reason"], registers });
    const refusedPublishes = new Counter({ name: "sos_mqtt_refused_publishes_total", help: "MQTT publishes refused (the client is disconnected), by the client's role and the reason", labelNames: ["role", "reason"], registers });
    const takeovers = new Counter({ name: "sos_kiosk_takeovers_total", help: "Kiosk connections closed because another connection authenticated as the same kiosk (many: two boxes with one identity)", registers });
    const refusedSubscriptions = new Counter({ name: "sos_mqtt_refused_subscriptions_total", help: "MQTT subscriptions refused (the client is disconnected), by the client's role and the reason", labelNames: ["role", "reason"], registers });
    const refusedCalls = new Counter({
      name: "sos_call_messages_refused_total",
      help: "Call messages that broke the contract or named an alarm not their kiosk's, by direction (up: dropped at the gateway; down: the kiosk drops them) and reason",
      labelNames: ["direction", "reason"],
      registers,
    });
    const refusedHttp = new Counter({
      name: "sos_http_refused_connections_total",
      help: "HTTP(S) connections refused or cut: address-limit, global-limit, timeout, bad-request, tls-handshake, cross-origin (a WebSocket from another page)",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["address-limit", "global-limit", "timeout", "bad-request", "tls-handshake", "cross-origin"]) refusedHttp.inc({ reason }, 0);
    events.on("http.refused", "metrics", (e) => refusedHttp.inc({ reason: e.reason }));

    // Every label value is initialised, so a series exists (at 0) before its first event.
    for (const state of kioskStateNames) transitions.inc({ to: state }, 0);
    for (const result of ["valid", "invalid", "dropped"]) heartbeats.inc({ result }, 0);
    const invalid = new Counter({ name: "sos_kiosk_messages_invalid_total", help: "Kiosk status messages that broke the contract (dropped)", labelNames: ["topic"], registers });
    invalid.inc({ topic: "status" }, 0);
    events.on("kiosk.invalid", "metrics", (e) => invalid.inc({ topic: e.topic }));
    const stalls = new Counter({ name: "sos_gateway_event_loop_stalls_total", help: "Times the gateway's event loop ran late by more than supervision.stallThresholdMs", registers });
    const stallSeconds = new Counter({ name: "sos_gateway_event_loop_stall_seconds_total", help: "Seconds the gateway's event loop was stalled (stalls above the threshold)", registers });
    events.on("gateway.stalled", "metrics", (e) => {
      stalls.inc();
      stallSeconds.inc(e.ms / 1_000);
    });
    for (const kind of ["sos", "test"]) received.inc({ kind }, 0);
    // The kiosks' second path (docs/fallback.md): alerts first received by SMS, and refused SMS.
    const bySms = new Counter({ name: "sos_alerts_received_by_sms_total", help: "Alerts whose first copy came by SMS (the kiosk's IP link could not deliver them)", labelNames: ["kind"], registers });
    const smsRefused = new Counter({ name: "sos_sms_refused_total", help: "SMS that claimed to be alerts and were refused (forged, replayed, unknown kiosk, malformed)", labelNames: ["code"], registers });
    for (const kind of ["sos", "test"]) bySms.inc({ kind }, 0);
    for (const code of ["SMS_MALFORMED", "SMS_UNKNOWN_KIOSK", "SMS_FORGED", "SMS_REPLAYED"]) smsRefused.inc({ code }, 0);
    events.on("alert.stored", "metrics-sms", (e) => e.channel === "sms" && bySms.inc({ kind: e.kind }));
    events.on("sms.refused", "metrics", (e) => smsRefused.inc({ code: e.code }));
    for (const result of ["delivered", "failed"]) {
      attempts.inc({ result }, 0);
      opsAttempts.inc({ result }, 0);
    }

    events.on("kiosk.state", "metrics", (e) => transitions.inc({ to: e.to }));
    events.on("kiosk.heartbeat", "metrics", (e) => heartbeats.inc({ result: e.dropped === true ? "dropped" : e.valid ? "valid" : "invalid" }));
    events.on("alert.stored", "metrics", (e) => received.inc({ kind: e.kind }));
    events.on("alert.duplicate", "metrics", () => duplicates.inc());
    events.on("alert.rejected", "metrics", (e) => rejected.inc({ code: e.code }));
    events.on("dispatch.failed", "metrics", () => attempts.inc({ result: "failed" }));
    events.on("alert.delivered", "metrics", async (e) => {
      attempts.inc({ result: "delivered" });
      delivered.inc();
      const alert = await store.getAlert(e.alertId);
      if (alert === undefined) return log.warn({ alertId: e.alertId }, "delivered alert not found for the latency metric");
      latency.observe(Math.max(0, Date.parse(e.deliveredAt) - Date.parse(alert.receivedAt)) / 1_000);
    });
    events.on("ops.delivered", "metrics", () => opsAttempts.inc({ result: "delivered" }));
    events.on("ops.failed", "metrics", () => opsAttempts.inc({ result: "failed" }));
    events.on("kiosk.takeover", "metrics", () => takeovers.inc());
    events.on("mqtt.refused", "metrics", (e) => {
      if (e.what === "connection") refusedConnections.inc({ reason: e.reason });
      else if (e.what === "publish") refusedPublishes.inc({ role: e.role ?? "none", reason: e.reason });
      else refusedSubscriptions.inc({ role: e.role ?? "none", reason: e.reason });
    });
    const dispatchUnreachable = new Gauge({
      name: "sos_dispatch_unreachable",
      help: "1 while dispatch has been failing as a whole for dispatch.unreachableAfterMs (its circuit open), else 0",
      registers,
    });
    dispatchUnreachable.set(0);
    events.on("dispatch.unreachable", "metrics", () => dispatchUnreachable.set(1));
    events.on("dispatch.restored", "metrics", () => dispatchUnreachable.set(0));
    const storeUp = new Gauge({ name: "sos_store_up", help: "1 while the store (SQLite or PostgreSQL) answers, 0 during an outage (alerts are not acknowledged then)", registers });
    storeUp.set(1);
    events.on("store.down", "metrics", () => storeUp.set(0));
    events.on("store.up", "metrics", () => storeUp.set(1));
    events.on("call.refused", "metrics", (e) => refusedCalls.inc({ direction: e.direction, reason: e.reason }));
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * The operator side of the gateway, wired in one place so main.ts stays small: login and sessions,
 * MQTT over WebSocket, snapshots, and alarms announced to operator pages.
 *
 *   const operators = new OperatorFeature(config, deps);       // before the broker (it authenticates operators)
 *   await operators.start();                                    // sessions from before a restart
 *   const broker = new GatewayBroker(config, { ..., operators: operators.auth });
 *   operators.attach(broker);                                   // snapshot handler, alarms, /mqtt
 *   new HttpServer(readiness, log, operators.http);             // routes and the upgrade
 *   operators.listening(httpHost, httpPort);                    // the default public URL
 */
import type { Logger } from "pino";
import { retriedFailureLevel } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayBroker } from "../broker/broker.js";
import type { GatewayEvents } from "../events.js";
import { consoleRoutes } from "../http/console-routes.js";
import { MqttWebSocket } from "../http/mqtt-ws.js";
import { MQTT_WS_PATH, operatorRoutes } from "../http/operator-routes.js";
import type { HttpServerOptions } from "../http/server.js";
import { snapshotRoutes } from "../http/snapshot-routes.js";
import { SnapshotLinks } from "../snapshots/links.js";
import { SnapshotStore } from "../snapshots/snapshots.js";
import type { GatewayStore } from "../store/store.js";
import { announceAlarm } from "./alarms.js";
import { OperatorAuth } from "./auth.js";
import { operatorStamps, SessionStore } from "./sessions.js";

/** How often the operators are read for removals and changes made by the CLI. */
const OPERATOR_POLL_MS = 1_000;

export interface OperatorFeatureDeps {
  readonly store: GatewayStore;
  readonly events: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  /** The HTTP port speaks HTTPS (cookies get `Secure`, the default public URL is https://). */
  readonly https?: boolean;
}

/** http://host:port for a listen address (brackets for IPv6). */
export function defaultPublicUrl(host: string, port: number, https = false): string {
  return `${https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export class OperatorFeature {
  readonly auth: OperatorAuth;
  readonly links: SnapshotLinks;
  readonly snapshots: SnapshotStore;
  private ws: MqttWebSocket | undefined;
  private removalTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: OperatorFeatureDeps,
  ) {
    const sessions = new SessionStore(config.operators.sessionTtlMs, deps.clock, {
      persist: { records: deps.store.sessions, log: deps.log.child({ subsystem: "sessions" }) },
      maxPerOperator: config.operators.maxSessionsPerOperator,
    });
    this.auth = new OperatorAuth(deps.store, sessions, { maxFailedPerMinute: config.operators.maxFailedLoginsPerMinute, slowdown: config.operators.accountSlowdown }, deps.clock);
    // A fixed HTTP port gives the default public URL now; an ephemeral one (tests) once listening.
    const known = config.publicUrl ?? (config.http.port === 0 ? undefined : defaultPublicUrl(config.http.host, config.http.port, deps.https));
    this.links = new SnapshotLinks(config.dispatch.secret, known);
    this.snapshots = new SnapshotStore(config.dataDir, deps.store, deps.clock, deps.log.child({ subsystem: "snapshots" }));
  }

  /** Restores the sessions a restart would otherwise end: call before the broker and HTTP listen. */
  async start(): Promise<void> {
    // The operators before the sessions: one replaced in between has had its session rows deleted.
    const restored = await this.auth.sessions.load(operatorStamps(await this.deps.store.listOperators()));
    this.deps.log.info({ sessions: restored }, "operator sessions restored");
  }

  /** The snapshot link for the dispatch body (undefined before the public URL is known). */
  readonly snapshotUrl = (alertId: string): string | undefined => this.links.dispatchUrl(alertId);

  attach(broker: GatewayBroker): void {
    const { events, store, log } = this.deps;
    broker.handle("snapshot", (kioskId, topic, payload) => this.snapshots.handle(kioskId, topic, payload));
    events.on("alert.stored", "snapshots", (e) => this.snapshots.alertStored(e.alertId, e.kioskId));
    const alarmLog = log.child({ subsystem: "operator-alarms" });
    // A test alarm proves the path to dispatch; it never pages an operator.
    events.on("alert.stored", "operator-alarms", (e) => e.kind === "test" ? undefined : announceAlarm(store, (alarm) => broker.publishOperatorAlarm(alarm), e, alarmLog));
    const origins = [...this.config.http.allowedOrigins, ...(this.config.publicUrl === undefined ? [] : [this.config.publicUrl])];
    this.ws = new MqttWebSocket(broker, MQTT_WS_PATH, log.child({ subsystem: "mqtt-ws" }), origins);
    // A session that ends by logout, a newer login past the per-operator cap or expiry takes its
    // page's MQTT connection with it (removed or changed operators: dropStaleSessions, which logs them).
    this.auth.sessions.onEnded((ended, why) => {
      if (why === "removed" || why === "changed") return;
      for (const session of ended) {
        const cut = broker.disconnectClient(session.clientId);
        if (cut) log.info({ operator: session.operator, why }, "operator session ended: its MQTT connection closed");
      }
    });
    // `sos operator remove` and `sos operator add --force` write the store from another process: the
    // sessions of a removed operator, or of one with a new password or role, end within a poll, and
    // so do their pages' MQTT connections (calls, alarms).
    // Expired sessions end on the same tick, with their pages' connections, not at their next use.
    this.removalTimer = setInterval(() => {
      this.auth.sessions.endExpired();
      void this.dropStaleSessions(broker);
    }, OPERATOR_POLL_MS);
  }

  private async dropStaleSessions(broker: GatewayBroker): Promise<void> {
    try {
      const current = operatorStamps(await this.deps.store.listOperators());
      const { sessions } = this.auth;
      for (const session of sessions.dropAbsent(new Set(current.keys()))) {
        const cut = broker.disconnectClient(session.clientId);
        this.deps.log.warn({ operator: session.operator, mqttCut: cut }, "operator removed: session ended");
      }
      for (const session of sessions.dropChanged(current)) {
        const cut = broker.disconnectClient(session.clientId);
        this.deps.log.warn({ operator: session.operator, role: session.role, mqttCut: cut }, "operator changed (new password or role): session ended");
      }
    } catch (err) {
      this.deps.log[retriedFailureLevel(err, "warn")]({ err }, "could not read the operators; trying again");
    }
  }

  get http(): HttpServerOptions {
    const { store, log } = this.deps;
    const httpLog = log.child({ subsystem: "http" });
    return {
      routes: [
        operatorRoutes({
          auth: this.auth,
          store,
          iceServers: this.config.iceServers,
          secureCookie: this.deps.https === true || this.config.publicUrl?.startsWith("https:") === true,
          log: httpLog,
        }),
        snapshotRoutes({ sessions: this.auth.sessions, links: this.links, snapshots: this.snapshots }),
        consoleRoutes({ production: this.config.profile === "production", https: this.deps.https === true }),
      ],
      ...(this.ws === undefined ? {} : { upgrade: this.ws.upgrade }),
    };
  }

  listening(host: string, port: number): void {
    if (this.config.publicUrl !== undefined) return;
    this.links.setBase(defaultPublicUrl(host, port, this.deps.https));
    if (host === "0.0.0.0" || host === "::") {
      this.deps.log.warn({ host, port }, "no --public-url: dispatch gets snapshot links on the listen address, which it cannot reach; set --public-url");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.removalTimer);
    await this.ws?.stop();
    await this.auth.sessions.flush();
  }
}

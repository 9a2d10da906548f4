/**
 * The gateway's composition root: builds the store, broker, pipeline, forwarder, supervision,
 * metrics and HTTP server, starts them in order and stops them in reverse.
 */
import { randomBytes } from "node:crypto";
import { importReleaseFolder, releaseRoutes } from "./releases/published.js";
import { RolloutRunner } from "./releases/rollout.js";
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../shared/clock.js";
import { type GatewayConfig, nodeIdOf } from "../shared/config/gateway.js";
import { ErrorCode, SosError } from "../shared/errors.js";
import { EventBus } from "../shared/events.js";
import { type CloseRequest, closeAlarm } from "./alerts/close.js";
import { AlertPipeline } from "./alerts/pipeline.js";
import { CallGuard } from "./alarms/call-guard.js";
import { AlarmsFeature } from "./alarms/feature.js";
import { CommandSender } from "./commands/sender.js";
import { GatewayBroker } from "./broker/broker.js";
import { dispatchFormat } from "./dispatch/format.js";
import { DispatchForwarder } from "./dispatch/forwarder.js";
import { claimNodeId, warnIfUnrouted } from "./cluster/node-id.js";
import type { ClusterRouting } from "./cluster/routing.js";
import type { DispatchStatus } from "./dispatch/reachability.js";
import { DispatchUpdates } from "./dispatch/updates.js";
import { type DispatchSender, WebhookSender } from "./dispatch/webhook.js";
import type { GatewayEvents } from "./events.js";
import { metricsRoutes } from "./http/metrics-routes.js";
import { consoleAuthorizer } from "./http/operator-routes.js";
import { HttpServer } from "./http/server.js";
import { GatewayMetrics } from "./metrics/metrics.js";
import type { OutboxSender } from "./outbox/forwarder.js";
import { OperatorFeature } from "./operators/feature.js";
import { loadServerTls, pkiExists, pkiPaths, type ServerTls } from "./pki/ca.js";
import { recoverServerPair } from "./pki/server-pair.js";
import { ServerCertificateRenewal } from "./pki/server-renewal.js";
import { RevocationWatcher } from "./security/revocation.js";
import { CertificateRenewal } from "./security/renewal.js";
import { CertificateRotation } from "./security/rotation.js";
import { securityRoutes } from "./security/routes.js";
import { StoreAvailability, type StoreStatus } from "./store/availability.js";
import { secureDataDir, type Tightened } from "./store/data-dir.js";
import { openStore } from "./store/open.js";
import type { CloseAlertResult, GatewayStore } from "./store/store.js";
import { SupervisionFeature } from "./supervision/feature.js";
import type { Modem } from "../shared/modem/modem.js";
import { smsHookRoutes } from "./sms/http-hook.js";
import { SmsIntake } from "./sms/intake.js";
import { relayConsole } from "./cluster/console-relay.js";
import { Singletons } from "./cluster/singleton.js";
import { KioskOwners } from "./cluster/kiosk-owners.js";
import { clusterReadiness, NodeWatch } from "./cluster/node-watch.js";
import { HeardNodes } from "./cluster/heard-nodes.js";
import { PROCESS_OWNER } from "./store/claims.js";

export const GATEWAY_VERSION = "0.1.0";
/** At start, the newest alarms whose EIDO updates are checked for steps not queued yet. */
const RECONCILE_NEWEST = 200;

export interface GatewayDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Defaults to the webhook in the config. */
  readonly sender?: DispatchSender;
  /** Defaults to the ops webhook in the config. */
  readonly opsSender?: OutboxSender;
  /** Defaults to the escalation webhook in the config. */
  readonly escalationSender?: OutboxSender;
  /** The SMS receiver's modem; default: the AT driver on config.sms.modem (tests pass a pty one). */
  readonly smsModem?: Modem;
}

export interface GatewayHandle {
  /** The password listener's port; 0 when it is off (production profile). */
  readonly mqttPort: number;
  /** MQTT over TLS with client certificates; null when the data folder has no CA. */
  readonly mqttsPort: number | null;
  readonly httpPort: number;
  /** Whether the HTTP port speaks HTTPS (it does when there is a CA). */
  readonly https: boolean;
  readonly store: GatewayStore;
  /** Whether the store answers (store/availability.ts). */
  storeStatus(): StoreStatus;
  readonly events: EventBus<GatewayEvents>;
  readonly supervision: SupervisionFeature;
  readonly metrics: GatewayMetrics;
  readonly alarms: AlarmsFeature;
  /** The embedded MQTT broker (its retained state and sessions, for diagnostics and tests). */
  readonly broker: GatewayBroker;
  /** Closes an alarm and tells its kiosk at once (the path the operator console uses). */
  closeAlarm(request: CloseRequest): Promise<CloseAlertResult>;
  stop(): Promise<void>;
}

/** A URL fit for a log line: no user info, no query (either may carry a token). */
function safeUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * The server certificate and CA when the data folder has them; a production gateway requires them.
 * An interrupted write of the server key and certificate is finished or undone first (server-pair.ts).
 */
function serverTls(config: GatewayConfig, log: Logger): ServerTls | undefined {
  const paths = pkiPaths(config.dataDir);
  if (existsSync(paths.dir)) {
    const recovery = recoverServerPair(paths);
    if (recovery === "mismatched") throw new SosError(ErrorCode.ConfigInvalid, `${paths.serverKey} is not the key of ${paths.serverCert}: run 'sos ca server-cert --data-dir ${config.dataDir} --name HOST'`);
    if (recovery !== "intact" && recovery !== "absent") log.warn({ recovery }, "an interrupted write of the server key and certificate was repaired");
  }
  if (pkiExists(config.dataDir)) return loadServerTls(config.dataDir);
  if (config.profile === "production") {
    throw new SosError(ErrorCode.ConfigMissing, `the production profile needs TLS and ${pkiPaths(config.dataDir).dir} holds no CA: run 'sos ca init --data-dir ${config.dataDir}'`);
  }
  return undefined;
}

/** A cluster node's kiosk owners: the kiosks it supervises (cluster/kiosk-owners.ts). */
function kioskOwners(config: GatewayConfig, holder: string, store: GatewayStore, clock: Clock, log: Logger): KioskOwners {
  const { beatMs, deadAfterMs, moveGraceMs } = config.cluster;
  return new KioskOwners({ holder, everyMs: beatMs, deadAfterMs, moveGraceMs }, { leases: () => store.leases, health: () => store.health, clock, log: log.child({ subsystem: "cluster" }) });
}

async function clusterRouting(url: string, nodeId: string, log: Logger): Promise<ClusterRouting> {
  const { ClusterRouting } = await import("./cluster/routing.js");
  return new ClusterRouting({ url, nodeId }, log.child({ subsystem: "cluster" }));
}

export async function startGateway(config: GatewayConfig, deps: GatewayDeps): Promise<GatewayHandle> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log;
  // Renewed at start if it expires soon (before any listener serves it), then checked on a timer.
  const loadedTls = serverTls(config, log);
  const serverCert = loadedTls === undefined ? undefined : new ServerCertificateRenewal(config, { clock, log: log.child({ subsystem: "security" }) }, loadedTls);
  await serverCert?.check();
  const tls = serverCert?.tls;
  const events = new EventBus<GatewayEvents>(log);
  // SQLite in the data folder, or PostgreSQL at store.url (migrated at start, under a lock). On
  // PostgreSQL the folder still holds the CA's key and the snapshots: it is made private all the same.
  const tighten = (t: Tightened): void => log.warn(t, "data folder or store file was readable by others: permissions tightened");
  if (config.store.url !== undefined) for (const t of secureDataDir(config.dataDir)) tighten(t);
  const rawStore = await openStore({ url: config.store.url, dataDir: config.dataDir, log: log.child({ subsystem: "store" }), tightened: tighten });
  const availability = new StoreAvailability({
    probe: () => Promise.resolve().then(() => rawStore.health.pendingDispatchCount()),
    probeMs: config.store.probeMs,
    events,
    clock,
    log: log.child({ subsystem: "store" }),
  });
  // Every feature gets the watched store: a call that fails makes it probe, and an outage is said once.
  const store = availability.watch(rawStore);
  const stops: (() => Promise<void>)[] = [() => rawStore.close(), () => Promise.resolve(availability.stop())];
  // Jobs one gateway of a cluster runs (the rollouts, the daily pruning): their leases are given up
  // at a clean stop, just before the store closes, so another gateway takes them over at once.
  const nodeId = nodeIdOf(config);
  const singletons = new Singletons(() => store.leases, clock, log.child({ subsystem: "cluster" }), `${nodeId}/${PROCESS_OWNER}/${randomBytes(3).toString("hex")}`);
  stops.push(() => singletons.releaseAll());
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, "error while stopping");
      }
    }
  };

  try {
    // One running process per node id (a crashed predecessor's row and leases are retired first).
    if (config.cluster.nodeId !== undefined) {
      const { beatMs, deadAfterMs } = config.cluster;
      await claimNodeId(store.leases, { nodeId, holder: singletons.holder, beatMs, deadAfterMs }, clock, log.child({ subsystem: "cluster" }));
    }
    // A node id is no routing: a shared store without --cluster is said either way.
    if (config.store.url !== undefined && config.cluster.redisUrl === undefined) {
      await warnIfUnrouted(store.leases, singletons.holder, clock, log.child({ subsystem: "cluster" }));
    }
    const sender =
      deps.sender ??
      (config.dispatch.url !== undefined && config.dispatch.secret !== undefined
        ? new WebhookSender({ url: config.dispatch.url, secret: config.dispatch.secret, timeoutMs: config.dispatch.timeoutMs, userAgent: `sos-gateway/${GATEWAY_VERSION}` })
        : undefined);
    const format = dispatchFormat(config.dispatch.format);
    let forwarder: DispatchForwarder | undefined;
    if (sender === undefined) {
      log.warn("no dispatch URL configured: alerts are stored and acknowledged but not forwarded until one is (--dispatch-url)");
    } else {
      const f = new DispatchForwarder(store, sender, config.dispatch, events, clock, log.child({ subsystem: "dispatch" }), format.name === "eido");
      forwarder = f;
      stops.push(() => f.stop(config.shutdown.graceMs));
    }
    let updates: DispatchUpdates | undefined;
    if (format.name === "eido") {
      // The alarm's later steps as EIDO updates of its incident, queued (and sent) after the alert.
      const u = new DispatchUpdates(format, { store, events, agency: config.dispatch.agency, log: log.child({ subsystem: "dispatch" }), wake: () => forwarder?.wake() });
      u.attach();
      updates = u;
      stops.push(async () => {
        u.stop();
        await u.settled();
      });
    }

    const operators = new OperatorFeature(config, { store, events, clock, log, https: tls !== undefined });
    // Before the broker and HTTP listen: a console that was logged in before a restart reconnects.
    await operators.start();
    // A kiosk's call messages may name only its own alarms: checked before anyone receives them.
    const callGuard = new CallGuard(config.limits, { store, events, log: log.child({ subsystem: "calls" }) });
    callGuard.start();
    stops.push(() => Promise.resolve(callGuard.stop()));
    const checkKioskPublish = (kioskId: string, topic: string, payload: Buffer): Promise<string | null> => callGuard.checkKioskPublish(kioskId, topic, payload);
    // Several nodes: MQTT routed between them through Redis (loaded only then); Aedes closes it.
    const mq = config.cluster.redisUrl === undefined ? undefined : await clusterRouting(config.cluster.redisUrl, nodeId, log);
    const broker = new GatewayBroker(config, {
      store,
      bus: events,
      log: log.child({ subsystem: "broker" }),
      operators: operators.auth,
      clock,
      checkKioskPublish,
      ...(tls === undefined ? {} : { tls }),
      ...(mq === undefined ? {} : { mq }),
    });
    const pipeline = new AlertPipeline(
      store,
      (kioskId, ack) => broker.publishAck(kioskId, ack),
      {
        maxPayloadBytes: config.alerts.maxPayloadBytes,
        agency: config.dispatch.agency,
        snapshotUrl: operators.snapshotUrl,
        format,
        // Supervision is built below; alerts arrive only once the broker listens, after it.
        health: (kioskId) => supervision.supervisor.get(kioskId),
        ...(forwarder === undefined ? {} : { dispatch: forwarder }),
      },
      events,
      clock,
      log.child({ subsystem: "alerts" }),
    );
    broker.handle("alerts", (kioskId, topic, payload) => pipeline.handle(kioskId, topic, payload));
    // The kiosks' second path: SMS alerts into the same pipeline (docs/fallback.md).
    const smsIntake = new SmsIntake({ store, pipeline, bus: events, clock, log: log.child({ subsystem: "sms" }) });
    const commands = new CommandSender(
      store,
      broker,
      { pollMs: config.commands.pollMs, resendMs: config.commands.resendMs },
      events,
      clock,
      log.child({ subsystem: "commands" }),
    );
    broker.handle("commandResults", (kioskId, _topic, payload) => commands.handleResult(kioskId, payload));
    events.on("kiosk.connected", "command-sender", ({ kioskId }) => commands.wake(kioskId));
    events.on("alert.closed", "command-sender", () => commands.wake());
    // Rotation, and automatic renewal before certificates expire (started with the command sender below).
    let renewal: CertificateRenewal | undefined;
    if (tls !== undefined) {
      const rotationLog = log.child({ subsystem: "security" });
      new CertificateRotation(config, { store, events, clock, log: rotationLog, sessionSerial: (id) => broker.sessionSerial(id), wake: (id) => commands.wake(id) }).attach();
      renewal = new CertificateRenewal(config, { store: store.security, clock, log: rotationLog, wake: (id) => commands.wake(id) });
    }
    operators.attach(broker);
    const supervision = new SupervisionFeature(config, {
      store,
      events,
      clock,
      log,
      userAgent: `sos-gateway/${GATEWAY_VERSION}`,
      mine: singletons.mine,
      ...(config.cluster.nodeId === undefined ? {} : { owners: kioskOwners(config, singletons.holder, store, clock, log) }),
      ...(deps.opsSender === undefined ? {} : { opsSender: deps.opsSender }),
    });
    supervision.attach(broker);
    // Restored before the broker listens, so no kiosk's first connection is missed; stopped after
    // the broker (whose own shutdown is not reported as kiosks going offline).
    await supervision.start();
    stops.push(() => supervision.stop(config.shutdown.graceMs));
    const close = async (request: CloseRequest): Promise<CloseAlertResult> => {
      const { result } = await closeAlarm(store, request, clock);
      if (result === "closed") {
        log.info({ alertId: request.alertId, outcome: request.outcome, closedBy: request.closedBy }, "alarm closed");
        events.emit("alert.closed", { alertId: request.alertId, outcome: request.outcome, closedBy: request.closedBy });
      }
      return result;
    };
    const alarms = new AlarmsFeature(config, {
      store,
      events,
      clock,
      log,
      userAgent: `sos-gateway/${GATEWAY_VERSION}`,
      kioskState: (kioskId) => supervision.supervisor.get(kioskId),
      close,
      callGuard,
      ...(deps.escalationSender === undefined ? {} : { escalationSender: deps.escalationSender }),
    });
    alarms.attach(broker);
    // An event stream ends with the session that opened it (logout, expiry, …).
    alarms.stream.endWith(operators.auth.sessions);
    await alarms.start();
    stops.push(() => alarms.stop(config.shutdown.graceMs));
    // A cluster node keeps reading the nodes' beats: another process of its id started at the same
    // moment; a routed one also compares them with the nodes it hears (one on another Redis).
    const { beatMs } = config.cluster;
    const clusterLog = log.child({ subsystem: "cluster" });
    const heard = mq === undefined ? undefined : new HeardNodes({ holder: singletons.holder, beatMs }, { bus: mq, clock, log: clusterLog });
    const watch = config.cluster.nodeId === undefined ? undefined : new NodeWatch({ nodeId, holder: singletons.holder, beatMs }, { leases: () => store.leases, clock, log: clusterLog, ...(heard === undefined ? {} : { heard }) });
    const metrics = new GatewayMetrics({
      events,
      store,
      log: log.child({ subsystem: "metrics" }),
      kioskStates: () => supervision.supervisor.counts(),
      mqttConnections: () => broker.connectedClients,
      ...(mq === undefined ? {} : { routing: () => mq.state() }),
      ...(watch === undefined ? {} : { nodeWatch: () => watch.state() }),
    });
    await broker.start();
    singletons.startBeats(nodeId, () => broker.connectedClients, config.cluster.beatMs, config.cluster.deadAfterMs);
    watch?.start();
    stops.push(() => Promise.resolve(watch?.stop()));
    // A cluster: the console's events reach the pages of every node.
    stops.push(() => broker.stop());
    // Stopped before the broker (stops run last first): no "pages" message to a closed broker.
    if (mq !== undefined) {
      const stopRelay = await relayConsole(broker, alarms.stream, nodeId, log.child({ subsystem: "cluster" }), (alertId) => alarms.pages.show(alertId));
      stops.push(() => Promise.resolve(stopRelay()));
    }
    const mqttPort = broker.mqttPort ?? 0;
    const smsModem = deps.smsModem ?? (config.sms.modem === undefined ? undefined : await createSmsModem(config.sms.modem, log));
    if (smsModem !== undefined) {
      const { ModemSmsReceiver } = await import("./sms/modem-receiver.js");
      const receiver = new ModemSmsReceiver(smsModem, smsIntake, log.child({ subsystem: "sms", receiver: "modem" }));
      await receiver.start();
      stops.push(() => receiver.stop());
    }
    const mqttsPort = broker.mqttsPort;
    const revocations = new RevocationWatcher(store.security, broker, config.security.revocationPollMs, log.child({ subsystem: "security" }));
    await revocations.start();
    stops.push(() => Promise.resolve(revocations.stop()));
    commands.start();
    stops.push(() => Promise.resolve(commands.stop()));
    // Releases kept in the data folder before migration 17 are moved into the store (published.ts says why).
    await importReleaseFolder(config.dataDir, store.releases, log.child({ subsystem: "releases" }), clock.now());
    // Rollouts queue install-release into the same command outbox, wave after wave.
    const rollouts = new RolloutRunner(store, config.releases.rolloutCheckMs, clock, log.child({ subsystem: "rollout" }), singletons.mine);
    rollouts.start();
    stops.push(() => rollouts.stop());
    if (renewal !== undefined) {
      await renewal.start();
      stops.push(() => Promise.resolve(renewal.stop()));
    }

    const operatorHttp = operators.http;
    const http = new HttpServer(
      {
        ready: async () => {
          // SQLite answers synchronously: a closed or broken database throws before any promise.
          const pending = await Promise.resolve()
            .then(() => store.health.pendingDispatchCount())
            .catch(() => null);
          const listening = broker.listening;
          const status = availability.status();
          return {
            ready: pending !== null && listening,
            checks: {
              // Not ready while it is down: alerts cannot be stored, so none is acknowledged.
              store: pending !== null ? "ok" : `unreachable${status.since === null ? "" : ` since ${status.since}`}: ${status.lastError ?? "no answer"}`,
              broker: listening ? `listening, ${broker.connectedClients} clients` : "not listening",
              pendingDispatch: String(pending ?? "unknown"),
              // Reported, not a readiness failure: a gateway whose dispatch is down still stores and
              // acknowledges alerts (taking it out of a load balancer would stop that).
              dispatch: describeDispatch(forwarder?.status()),
              // Reported, not a readiness failure: this node still serves its own kiosks and pages.
              ...clusterReadiness(nodeId, mq?.state(), watch?.state()),
              // Reported, not a readiness failure: the kiosks' IP path does not need it.
              ...(smsModem === undefined ? {} : { smsModem: smsModem.isPresent ? "present" : "absent" }),
            },
          };
        },
      },
      log.child({ subsystem: "http" }),
      {
        ...operatorHttp,
        routes: [
          metricsRoutes(metrics, { token: config.metrics.token }),
          ...(config.sms.hook === undefined ? [] : [smsHookRoutes(smsIntake, config.sms.hook)]),
          securityRoutes({ config, store, sessions: operators.auth.sessions, revocations, mqttsPort, clock, log: log.child({ subsystem: "security" }) }),
          alarms.routes(consoleAuthorizer(operators.auth.sessions)),
          releaseRoutes(store.releases, log.child({ subsystem: "releases" })),
          ...(operatorHttp.routes ?? []),
        ],
        ...(tls === undefined ? {} : { tls: { key: tls.key, cert: tls.cert } }),
        limits: {
          perAddress: config.limits.httpConnectionsPerAddress,
          total: config.limits.httpConnections,
          headersTimeoutMs: config.limits.httpHeadersTimeoutMs,
          requestTimeoutMs: config.limits.httpRequestTimeoutMs,
          keepAliveTimeoutMs: config.limits.httpKeepAliveTimeoutMs,
        },
        refusalLog: { perKey: config.limits.refusalLogPerKey, total: config.limits.refusalLogTotal, windowMs: config.limits.refusalLogWindowMs },
        onRefused: (reason) => events.emit("http.refused", { reason }),
        trustedProxies: config.http.trustedProxies,
      },
    );
    const httpPort = await http.start(config.http.host, config.http.port);
    stops.push(() => http.stop());
    if (serverCert !== undefined) {
      serverCert.serve((renewed) => broker.loadServerTls(renewed));
      serverCert.serve((renewed) => http.loadTls(renewed));
      serverCert.start();
      stops.push(() => Promise.resolve(serverCert.stop()));
    }
    operators.listening(config.http.host, httpPort);
    stops.push(() => operators.stop());

    // Steps stored but not queued before a stop (or closed by the CLI meanwhile) are queued now.
    if (updates !== undefined) log.debug({ alarms: await updates.reconcile(RECONCILE_NEWEST) }, "EIDO updates reconciled");
    forwarder?.start();
    const pending = (await store.countByDelivery()).pending;
    log.info(
      { mqttPort, mqttsPort, httpPort, https: tls !== undefined, brokerId: nodeId, dispatch: safeUrl(config.dispatch.url), dispatchFormat: format.name, pendingDispatch: pending },
      "gateway ready",
    );
    singletons.serving = true;

    let stopping: Promise<void> | undefined;
    return {
      mqttPort,
      mqttsPort,
      httpPort,
      https: tls !== undefined,
      store,
      storeStatus: () => availability.status(),
      events,
      supervision,
      metrics,
      alarms,
      broker,
      closeAlarm: close,
      stop: () => {
        stopping ??= stopAll().then(() => log.info("gateway stopped"));
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function createSmsModem(m: NonNullable<GatewayConfig["sms"]["modem"]>, log: Logger): Promise<Modem> {
  const { AtModem } = await import("../shared/modem/at-modem.js");
  return new AtModem({ path: m.path, baudRate: m.baudRate, pollIntervalMs: m.pollIntervalMs, log: log.child({ subsystem: "sms" }) });
}

/** The dispatch line of /readyz: ok, or failing / unreachable since when, with the last error. */
function describeDispatch(status: DispatchStatus | undefined): string {
  if (status === undefined) return "not configured";
  if (status.state === "ok") return "ok";
  return `${status.state} since ${status.since ?? "?"}: ${status.lastError ?? "no answer"}`;
}

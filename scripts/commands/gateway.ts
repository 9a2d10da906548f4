import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { createLogger } from "../../shared/log.js";
import { startGateway } from "../../gateway/main.js";
import { GatewayService } from "../../gateway/service/systemd.js";
import { notifierFromEnv, watchdogIntervalMs } from "../../shared/service/notify.js";
import { runUntilSignal } from "../lib/cli.js";

export interface GatewayOptions {
  dataDir?: unknown;
  /** --store, or SOS_STORE_URL (commander reads it): PostgreSQL instead of SQLite in --data-dir. */
  store?: unknown;
  mqttPort?: unknown;
  mqttHost?: unknown;
  httpPort?: unknown;
  httpHost?: unknown;
  mqttsPort?: unknown;
  mqttsHost?: unknown;
  profile?: unknown;
  plainMqtt?: unknown;
  connectionBurst?: unknown;
  connectionsPerSecond?: unknown;
  handshakeDeadlineMs?: unknown;
  dispatchUrl?: unknown;
  dispatchSecret?: unknown;
  agency?: unknown;
  dispatchFormat?: unknown;
  publicUrl?: unknown;
  iceServer?: unknown;
  trustedProxy?: unknown;
  opsUrl?: unknown;
  cluster?: unknown;
  nodeId?: unknown;
  clusterBeatMs?: unknown;
  clusterDeadAfterMs?: unknown;
  moveGraceMs?: unknown;
  listenBacklog?: unknown;
  opsSecret?: unknown;
  missedBeats?: unknown;
  offlineReminderMin?: unknown;
  escalateAfterS?: unknown;
  escalationRepeatS?: unknown;
  escalationUrl?: unknown;
  escalationSecret?: unknown;
  smsModem?: unknown;
  smsHookPath?: unknown;
  renewBeforeDays?: unknown;
  renewCheckHours?: unknown;
  renewMaxPerCheck?: unknown;
  serverRenewBeforeDays?: unknown;
  logLevel?: unknown;
}

/** --ice-server URLs (STUN, or TURN without credentials) plus SOS_ICE_SERVERS (a JSON array of RTCIceServer). */
function iceServers(opts: GatewayOptions): unknown[] {
  const fromFlags = (Array.isArray(opts.iceServer) ? (opts.iceServer as unknown[]) : []).map((urls) => ({ urls }));
  const env = process.env.SOS_ICE_SERVERS;
  if (env === undefined || env.trim() === "") return fromFlags;
  let parsed: unknown;
  try {
    parsed = JSON.parse(env);
  } catch {
    throw new SosError(ErrorCode.ConfigInvalid, 'SOS_ICE_SERVERS is not JSON: set it to an array such as [{"urls":"turn:turn.example:3478","username":"u","credential":"p"}]');
  }
  return [...fromFlags, ...(Array.isArray(parsed) ? (parsed as unknown[]) : [parsed])];
}

const seconds = (s: unknown): number | undefined => (typeof s === "number" ? Math.round(s * 1_000) : undefined);

/**
 * The flag behind each setting the command line sets, for the config error: a technician typed
 * `--escalate-after-s -10`, not `alarms.escalateAfterMs`. A flag in other units than its setting
 * says so, since the limit in the message is in the setting's.
 */
const FLAGS: Record<string, string> = {
  "limits.connectionBurst": "--connection-burst",
  "limits.connectionsPerSecond": "--connections-per-second",
  "limits.handshakeDeadlineMs": "--handshake-deadline-ms",
  "cluster.beatMs": "--cluster-beat-ms",
  "cluster.deadAfterMs": "--cluster-dead-after-ms",
  "cluster.moveGraceMs": "--move-grace-ms",
  "cluster.nodeId": "--node-id",
  "broker.listenBacklog": "--listen-backlog",
  "supervision.missedBeats": "--missed-beats",
  "supervision.offlineReminderMs": "--offline-reminder-min (given in minutes, checked in ms)",
  "alarms.escalateAfterMs": "--escalate-after-s (given in seconds, checked in ms)",
  "alarms.escalationRepeatMs": "--escalation-repeat-s (given in seconds, checked in ms)",
  "security.renewBeforeDays": "--renew-before-days",
  "security.renewCheckMs": "--renew-check-hours (given in hours, checked in ms)",
  "security.renewMaxPerCheck": "--renew-max-per-check",
  "security.serverRenewBeforeDays": "--server-renew-before-days",
  "dispatch.url": "--dispatch-url",
  "dispatch.agency": "--agency",
  "escalation.url": "--escalation-url",
  "ops.url": "--ops-url",
  publicUrl: "--public-url",
};

/** The config error with each setting's flag named beside it. */
function withFlags(err: unknown): unknown {
  if (!(err instanceof SosError) || err.code !== ErrorCode.ConfigInvalid) return err;
  const message = err.message.replace(/(: |; )([A-Za-z.]+(?:\.\d+)?): /g, (whole, sep: string, path: string) => {
    const flag = FLAGS[path] ?? FLAGS[path.replace(/\.\d+$/, "")];
    return flag === undefined ? whole : `${sep}${flag.replace(/^(--[a-z-]+)/, `$1 [${path}]`)}: `;
  });
  return new SosError(err.code, message, { cause: err });
}

function parseGatewayConfigOf(input: unknown, source: string): ReturnType<typeof parseGatewayConfig> {
  try {
    return parseGatewayConfig(input, source);
  } catch (err) {
    throw withFlags(err);
  }
}

export async function run(opts: GatewayOptions): Promise<void> {
  const hookSecret = process.env.SOS_SMS_HOOK_SECRET;
  if (opts.smsHookPath !== undefined && (hookSecret === undefined || hookSecret === "")) {
    throw new SosError(ErrorCode.ConfigInvalid, "--sms-hook-path needs SOS_SMS_HOOK_SECRET: set it to the secret the SMS service signs its posts with");
  }
  const config = parseGatewayConfigOf(
    {
      dataDir: opts.dataDir,
      store: { url: typeof opts.store === "string" && opts.store !== "" ? opts.store : undefined },
      profile: opts.profile,
      mqtt: { host: opts.mqttHost, port: opts.mqttPort, enabled: typeof opts.plainMqtt === "boolean" ? opts.plainMqtt : undefined },
      mqtts: { host: opts.mqttsHost, port: opts.mqttsPort },
      limits: { connectionBurst: opts.connectionBurst, connectionsPerSecond: opts.connectionsPerSecond, handshakeDeadlineMs: opts.handshakeDeadlineMs },
      http: { host: opts.httpHost, port: opts.httpPort, ...(Array.isArray(opts.trustedProxy) && opts.trustedProxy.length > 0 ? { trustedProxies: opts.trustedProxy } : {}) },
      dispatch: {
        url: opts.dispatchUrl,
        secret: opts.dispatchSecret ?? process.env.SOS_DISPATCH_SECRET,
        agency: opts.agency,
        format: opts.dispatchFormat,
      },
      publicUrl: opts.publicUrl,
      // The environment only: a token on the command line would show in ps.
      metrics: { token: process.env.SOS_METRICS_TOKEN === "" ? undefined : process.env.SOS_METRICS_TOKEN },
      iceServers: iceServers(opts),
      ops: { url: opts.opsUrl, secret: opts.opsSecret ?? process.env.SOS_OPS_SECRET },
      cluster: {
        redisUrl: opts.cluster ?? (process.env.SOS_CLUSTER_URL === "" ? undefined : process.env.SOS_CLUSTER_URL),
        nodeId: opts.nodeId,
        beatMs: opts.clusterBeatMs,
        deadAfterMs: opts.clusterDeadAfterMs,
        moveGraceMs: opts.moveGraceMs,
      },
      broker: { listenBacklog: opts.listenBacklog },
      supervision: {
        missedBeats: opts.missedBeats,
        offlineReminderMs: typeof opts.offlineReminderMin === "number" ? Math.round(opts.offlineReminderMin * 60_000) : undefined,
      },
      alarms: {
        escalateAfterMs: seconds(opts.escalateAfterS),
        escalationRepeatMs: seconds(opts.escalationRepeatS),
      },
      escalation: { url: opts.escalationUrl, secret: opts.escalationSecret ?? process.env.SOS_ESCALATION_SECRET },
      security: {
        renewBeforeDays: opts.renewBeforeDays,
        renewCheckMs: typeof opts.renewCheckHours === "number" ? Math.round(opts.renewCheckHours * 3_600_000) : undefined,
        renewMaxPerCheck: opts.renewMaxPerCheck,
        serverRenewBeforeDays: opts.serverRenewBeforeDays,
      },
      // The SMS hook's secret from the environment only (it would show in ps).
      sms: {
        ...(typeof opts.smsModem === "string" ? { modem: { path: opts.smsModem } } : {}),
        ...(hookSecret === undefined || hookSecret === "" ? {} : { hook: { secret: hookSecret, path: opts.smsHookPath } }),
      },
      log: { level: opts.logLevel },
    },
    "gateway configuration",
  );
  if (config.cluster.redisUrl !== undefined && config.store.url === undefined) {
    throw new SosError(ErrorCode.ConfigInvalid, "--cluster needs the store every node shares: add --store postgres://… (or SOS_STORE_URL); a SQLite store in --data-dir is this node's alone (docs/cluster.md)");
  }
  const log = createLogger({ name: "gateway", level: config.log.level });
  // Handlers go in before the service starts: it logs that it is ready before start resolves, and a
  // SIGTERM that arrives in between would otherwise kill the process without a clean stop.
  const starting = startGateway(config, { log });
  // Under systemd (NOTIFY_SOCKET): READY=1, STATUS, watchdog pings, STOPPING=1; outside it, nothing.
  const notifier = notifierFromEnv(process.env, log.child({ subsystem: "systemd" }));
  const service = starting.then((gateway) => new GatewayService(gateway, notifier, watchdogIntervalMs(process.env), log.child({ subsystem: "systemd" })));
  runUntilSignal(async () => {
    log.info("shutting down");
    await (await service.catch(() => undefined))?.stop();
    await (await starting).stop();
  });
  await (await service).ready();
}

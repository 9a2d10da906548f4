import { z } from "zod";
import { logLevelSchema } from "../log.js";
import { parseConfig } from "./parse.js";
import { storeUrlProblem } from "./store-url.js";
import { webhookUrlSchema } from "./webhook-url.js";

const portSchema = z.number().int().min(0).max(65_535);

/** An RTCIceServer as the browser takes it (STUN, or TURN with credentials). */
const iceServerSchema = z.object({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

const retrySchema = z.object({
  minMs: z.number().int().min(10).default(1_000),
  maxMs: z.number().int().min(10).default(300_000),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
});

/** The dispatch receiver's circuit (gateway/outbox/circuit.ts). */
const dispatchCircuitSchema = z.object({
  probeMinMs: z.number().int().min(10).default(500),
  probeMaxMs: z.number().int().min(10).max(60_000).default(2_500),
  jitter: z.number().min(0).max(1).default(0.3),
});

/** Kiosk supervision (gateway/supervision/, docs/supervision.md). */
const supervisionSchema = z.object({
  /** A kiosk is offline once this many heartbeats in a row are missing (missedBeats × its intervalS + graceMs). */
  missedBeats: z.number().int().min(1).max(10).default(2),
  /**
   * Added to the missed-heartbeat timeout. 0 by default: on a live TCP connection heartbeats are not
   * lost one by one, so the silence reaches 2 intervals only when the kiosk (or its link) stalls for
   * a whole interval: no jitter to absorb, and 2 × 10 s = 20 s is the issue's detection bound.
   */
  graceMs: z.number().int().min(0).max(60_000).default(0),
  /** The interval assumed for a connected kiosk that has not said its own yet. */
  defaultIntervalS: z.number().int().min(1).max(3_600).default(10),
  /** Degraded when |received − sent| of a heartbeat is above this. */
  maxClockSkewMs: z.number().int().min(1_000).default(30_000),
  /** Degraded when the last test alert the gateway stored is older than this. */
  testAlarmOverdueMs: z.number().int().min(60_000).default(26 * 3_600_000),
  /** An offline kiosk is announced again this often until it is back. */
  offlineReminderMs: z.number().int().min(1_000).default(15 * 60_000),
  /**
   * After a gateway start, kiosks stored online get at least this long to reconnect before they are
   * offline (their reconnect backoff reaches 60 s while the gateway is away).
   */
  restoreGraceMs: z.number().int().min(0).default(75_000),
  /** Latest heartbeats are written to the store in batches this often (the CLI's view lags by up to this). */
  heartbeatFlushMs: z.number().int().min(100).max(300_000).default(5_000),
  /** How often the registry is read for kiosks provisioned or decommissioned by the CLI. */
  registryPollMs: z.number().int().min(100).max(300_000).default(5_000),
  maxHeartbeatBytes: z.number().int().min(1_024).max(1_048_576).default(32_768),
  /** Delivered operations events and state transitions older than this are deleted (checked daily). */
  historyDays: z.number().int().min(1).max(3_650).default(90),
  /**
   * Between online and degraded (and between two sets of failing parts), a kiosk changes at most once
   * per this long: the first change is at once, later ones wait for the window's end and only the
   * state then is recorded and sent. Offline is never held. 0: every change at once.
   */
  settleMs: z.number().int().min(0).max(600_000).default(30_000),
  /** Heartbeats past this rate (per kiosk, bursts of 10 allowed) are dropped unread and counted. */
  maxHeartbeatsPerMinute: z.number().int().min(6).max(6_000).default(90),
  /**
   * The gateway's event loop running late by more than this is a stall (checked every 500 ms): a kiosk
   * whose silence timer fires late, or after such a stall within its silence window, gets one more
   * silence timeout before it is offline (its heartbeats may be unread in a socket buffer).
   */
  stallThresholdMs: z.number().int().min(100).max(60_000).default(1_000),
});

/** The operations webhook: supervision events, separate from dispatch (its own URL and secret). */
const opsSchema = z.object({
  url: webhookUrlSchema("--ops-secret").optional(),
  secret: z.string().min(16, "must be at least 16 characters (use a random secret shared with operations)").optional(),
  timeoutMs: z.number().int().min(100).default(5_000),
  concurrency: z.number().int().min(1).max(64).default(4),
  retry: retrySchema.default(retrySchema.parse({})),
});

/** Alarms at the console: escalation when nobody acknowledges (gateway/alarms/, docs/operator-console.md). */
const alarmsSchema = z.object({
  /** An SOS alarm nobody has acknowledged this long after it was received is escalated. */
  escalateAfterMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** …and escalated again this often until someone acknowledges or closes it. */
  escalationRepeatMs: z.number().int().min(100).max(86_400_000).default(60_000),
});

/** The escalation webhook: a second signed, retried webhook (its own URL and secret). */
const escalationSchema = z.object({
  url: webhookUrlSchema("--escalation-secret").optional(),
  secret: z.string().min(16, "must be at least 16 characters (use a random secret shared with the receiver)").optional(),
  timeoutMs: z.number().int().min(100).default(5_000),
  concurrency: z.number().int().min(1).max(64).default(4),
  retry: retrySchema.default(retrySchema.parse({})),
});

/** Limits on the MQTT listeners, applied before authentication (gateway/broker/guard.ts). */
const limitsSchema = z.object({
  /** A packet announcing more than this ends its connection before it is buffered. 0 = no limit. */
  maxPacketBytes: z
    .number()
    .int()
    .refine((n) => n === 0 || n >= 300_000, "must be 0 (no limit) or at least 300000: a kiosk's snapshot at the press is one MQTT packet of up to ~270 kB")
    .default(512 * 1024),
  /**
   * The first packet, the CONNECT, read before the peer is authenticated: one announcing more ends the
   * connection at once. A kiosk's or an operator page's CONNECT is a few hundred bytes. 0 = maxPacketBytes.
   */
  maxConnectBytes: z.number().int().refine((n) => n === 0 || n >= 1_024, "must be 0 (the packet limit) or at least 1024").default(8 * 1024),
  /** New connections per source address: this many at once… (0 = no limit) */
  connectionBurst: z.number().int().min(0).default(100),
  /** …then this many per second. Kiosks behind carrier-grade NAT share an address: keep it generous. */
  connectionsPerSecond: z.number().min(0).default(10),
  /**
   * A connection whose CONNECT the gateway reads this long after accepting it is refused with CONNACK
   * "server unavailable" before any lookup (an overloaded node in a reconnect storm; the kiosk tries
   * again or another node). Below the kiosks' connect timeout (10 s). 0 = off.
   */
  handshakeDeadlineMs: z.number().int().min(0).max(60_000).default(5_000),
  /** Failed password logins of kiosks per address per minute; more are refused unchecked. */
  maxAuthFailuresPerMinute: z.number().int().min(1).max(100_000).default(30),
  /**
   * Refused connections, publishes and subscriptions, and client/connection errors are logged sampled:
   * per line, reason and address this many lines one by one per window, at most `refusalLogTotal` over
   * all; the rest are counted into one line when the window ends. A kiosk's or operator page's connect
   * and disconnect lines are sampled per client with the same `refusalLogPerKey` and window.
   */
  refusalLogPerKey: z.number().int().min(1).max(10_000).default(20),
  refusalLogTotal: z.number().int().min(1).max(100_000).default(200),
  refusalLogWindowMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * Topic filters in one SUBSCRIBE (or UNSUBSCRIBE); more end the connection before any is looked at.
   * Kiosks and operator pages send 1-2 at a time.
   */
  maxFiltersPerSubscribe: z.number().int().min(1).max(1_000).default(16),
  /**
   * The HTTP(S) port (gateway/http/connection-guard.ts): open connections per source address and in
   * all, WebSockets at /mqtt included; past either, a new connection is closed at once (a control room
   * behind one NAT address has a few per console). 0 = no limit.
   */
  httpConnectionsPerAddress: z.number().int().min(0).default(128),
  httpConnections: z.number().int().min(0).default(1_024),
  /** A request's headers must arrive within this (a socket that sends nothing is cut after it too; HTTPS: the TLS handshake as well). */
  httpHeadersTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** A whole request, body included, must arrive within this (a trickled body is cut). */
  httpRequestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** An idle keep-alive connection is closed after this. */
  httpKeepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
});

/** Certificates and enrolment (gateway/pki/, gateway/security/). */
const securitySchema = z.object({
  /** How often the store is read for revocations written by the CLI (a live session is cut within this plus a little). */
  revocationPollMs: z.number().int().min(50).max(60_000).default(250),
  /** Lifetime of a kiosk certificate issued at enrolment or renewal. */
  kioskCertDays: z.number().int().min(1).max(3_650).default(825),
  /** A kiosk's certificate is renewed automatically once it expires within this many days (below kioskCertDays). */
  renewBeforeDays: z.number().int().min(1).max(3_649).default(90),
  /**
   * The gateway's own server certificate (825 days) is renewed from its CA, and loaded into the live
   * listeners, once it expires within this many days (below 825); checked with renewCheckMs.
   */
  serverRenewBeforeDays: z.number().int().min(1).max(824).default(60),
  /** How often the store is read for certificates to renew, and the server certificate checked (and once at start). */
  renewCheckMs: z.number().int().min(100).max(7 * 86_400_000).default(6 * 3_600_000),
  /**
   * At most this many kiosk renewals are queued per check, the nearest expiry first; the rest wait
   * for the next check. With the defaults (90 days, every 6 h: 360 checks) that is 18,000 renewals in
   * the window, so a fleet of 10,000 enrolled in one rollout is renewed within 50 days.
   */
  renewMaxPerCheck: z.number().int().min(1).max(100_000).default(50),
  /** Failed enrolments (bad, used or expired tokens) allowed per address per minute. */
  maxFailedEnrolmentsPerMinute: z.number().int().min(1).max(1_000).default(10),
});

/** The SMS receivers of the kiosks' second path (docs/fallback.md); both optional, both may run. */
const smsSchema = z.object({
  /** A modem attached to the gateway (the same AT driver as the kiosks'). */
  modem: z
    .object({
      path: z.string().min(1).describe("prefer /dev/serial/by-id/…"),
      baudRate: z.number().int().default(115_200),
      pollIntervalMs: z.number().int().min(0).default(30_000),
    })
    .optional(),
  /** An SMS gateway service's inbound webhook: POST {from, text}, signed with X-Sos-Signature. */
  hook: z
    .object({
      path: z.string().regex(/^\/[A-Za-z0-9/_-]*$/).default("/sms/inbound"),
      secret: z.string().min(16, "must be at least 16 characters (a random secret shared with the SMS service)"),
    })
    .optional(),
});

/** The gateway's config, built from the command line and the environment. */
export const gatewayConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Certificates and keys (pki/), snapshots, and the SQLite store unless `store.url` names another. */
    dataDir: z.string().min(1),
    /**
     * The store: SQLite (gateway.db in dataDir) when `url` is absent; PostgreSQL for a postgres:// URL
     * (several hosts with target_session_attrs=read-write follow a switchover). `--store`, `SOS_STORE_URL`.
     */
    store: z
      .object({
        url: z
          .string()
          .superRefine((url, ctx) => {
            const problem = storeUrlProblem(url);
            if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
          })
          .optional(),
        /** While the store is unreachable it is probed this often (alerts wait unacknowledged on the kiosks). */
        probeMs: z.number().int().min(50).max(60_000).default(1_000),
      })
      .default({ probeMs: 1_000 }),
    /** "production": no password listener unless asked for, and TLS (a CA, 'sos ca init') required. */
    profile: z.enum(["dev", "production"]).default("dev"),
    /** The password listener for demo and development kiosks; `enabled` defaults to on in dev, off in production. */
    mqtt: z
      .object({ host: z.string().default("0.0.0.0"), port: portSchema.default(1883), enabled: z.boolean().optional() })
      .default({ host: "0.0.0.0", port: 1883 }),
    /** MQTT over TLS with client certificates, served when the data folder holds a CA (pki/). */
    mqtts: z.object({ host: z.string().default("0.0.0.0"), port: portSchema.default(8883) }).default({ host: "0.0.0.0", port: 8883 }),
    limits: limitsSchema.default(limitsSchema.parse({})),
    security: securitySchema.default(securitySchema.parse({})),
    http: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: portSchema.default(8080),
        /**
         * Origins (scheme://host[:port]) besides the gateway's own whose pages may open the MQTT
         * WebSocket at /mqtt (a console served through another name). The request's own Host and
         * publicUrl are always allowed.
         */
        allowedOrigins: z.array(z.url({ protocol: /^https?$/ })).default([]),
        /**
         * Reverse proxies (IP addresses) in front of the HTTP port: behind one, a request's client is
         * the right-most X-Forwarded-For hop that is not one of them (failed-login limits, /metrics'
         * loopback rule); they are exempt from the per-address connection cap. Never list an address
         * clients can connect from themselves.
         */
        trustedProxies: z.array(z.union([z.ipv4(), z.ipv6()], { error: "must be an IP address (e.g. 127.0.0.1)" })).default([]),
      })
      .default({ host: "127.0.0.1", port: 8080, allowedOrigins: [], trustedProxies: [] }),
    /**
     * GET /metrics: with a token (SOS_METRICS_TOKEN), only `Authorization: Bearer <token>` is served;
     * without one, only requests from loopback (a Prometheus on the gateway's machine).
     */
    metrics: z
      .object({ token: z.string().min(16, "must be at least 16 characters (use a random token shared with Prometheus)").optional() })
      .default({}),
    broker: z
      .object({
        /** A fixed id so that wills and sessions survive a restart. */
        id: z.string().min(1).default("sos-gateway"),
        /** A frozen subscriber is disconnected after this long instead of stalling delivery. */
        drainTimeoutMs: z.number().int().min(1_000).max(60_000).default(20_000),
        maxTopicLevels: z.number().int().min(4).max(100).default(8),
        /**
         * The MQTT listeners' accept queue (listen(2) backlog; the kernel caps it at net.core.somaxconn).
         * Node's 511 overflows when thousands of kiosks arrive at once (a node of a cluster died): the
         * kernel then drops their handshakes' last ACK, and each waits out TCP's retransmission backoff
         * (1, 2, 4 s…) while the gateway idles.
         */
        listenBacklog: z.number().int().min(16).max(65_535).default(4_096),
      })
      .default({ id: "sos-gateway", drainTimeoutMs: 20_000, maxTopicLevels: 8, listenBacklog: 4_096 }),
    alerts: z
      .object({ maxPayloadBytes: z.number().int().min(256).max(1_048_576).default(16_384) })
      .default({ maxPayloadBytes: 16_384 }),
    dispatch: z
      .object({
        url: webhookUrlSchema("--dispatch-secret").optional(),
        secret: z.string().min(16, "must be at least 16 characters (use a random secret shared with dispatch)").optional(),
        /** Written into the incident tracking id, as EIDO's owning agency. */
        agency: z.string().min(1).default("sos.gateway"),
        /**
         * The body: "flat" (sos.dispatch.alert/v1) or "eido" (NENA's EIDO, with the alarm's later steps
         * sent as updates of its incident); docs/dispatch-webhook.md.
         */
        format: z.enum(["flat", "eido"]).default("flat"),
        timeoutMs: z.number().int().min(100).default(5_000),
        concurrency: z.number().int().min(1).max(64).default(8),
        retry: z
          .object({
            minMs: z.number().int().min(10).default(1_000),
            maxMs: z.number().int().min(10).default(300_000),
            factor: z.number().min(1).default(2),
            jitter: z.number().min(0).max(1).default(0.2),
          })
          .default({ minMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 }),
        /**
         * While dispatch fails (no answer, or any status but 2xx) it is probed with one alert at a
         * time, each probe another alert, every probeMinMs doubling to probeMaxMs (jittered); its
         * first delivery sends the backlog at once, `concurrency` at a time (gateway/outbox/circuit.ts).
         */
        circuit: dispatchCircuitSchema.default(dispatchCircuitSchema.parse({})),
        /** Dispatch failing this long is reported: ops event, console banner, /readyz check, metric. */
        unreachableAfterMs: z.number().int().min(0).default(30_000),
      })
      .default({
        agency: "sos.gateway",
        format: "flat",
        timeoutMs: 5_000,
        concurrency: 8,
        retry: { minMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 },
        circuit: dispatchCircuitSchema.parse({}),
        unreachableAfterMs: 30_000,
      }),
    commands: z
      .object({
        /** How often the command outbox is read for commands written by other processes (the CLI). */
        pollMs: z.number().int().min(50).max(60_000).default(1_000),
        /** An unconfirmed command is sent again after this long. */
        resendMs: z.number().int().min(100).default(15_000),
      })
      .default({ pollMs: 1_000, resendMs: 15_000 }),
    /** Agent rollouts in waves (sos release rollout): how often their kiosks' reports are read. */
    releases: z.object({ rolloutCheckMs: z.number().int().min(50).max(300_000).default(10_000) }).default({ rolloutCheckMs: 10_000 }),
    /**
     * The gateway's base URL as dispatch reaches it (snapshot links in the webhook body). Defaults to
     * http://<http.host>:<http.port> once the HTTP port is known.
     */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** STUN/TURN servers the operator page uses for calls; empty = host candidates only (one LAN). */
    iceServers: z.array(iceServerSchema).default([]),
    operators: z
      .object({
        /** An operator's login lasts this long (a shift and a bit). */
        sessionTtlMs: z.number().int().min(60_000).default(14 * 3_600_000),
        /** Failed logins (HTTP or MQTT) allowed per address per minute; more are refused unchecked. */
        maxFailedLoginsPerMinute: z.number().int().min(1).max(1_000).default(10),
        /** Live sessions per operator; a further login ends that operator's oldest (never another operator's). */
        maxSessionsPerOperator: z.number().int().min(1).max(1_000).default(10),
        /**
         * Failed logins on one account (from any address) slow its next attempts: after `freeFailures`
         * in `windowMs`, each attempt waits baseDelayMs, doubled per further failure, up to maxDelayMs.
         * A slowdown, never a lockout: the right password still logs in.
         */
        accountSlowdown: z
          .object({
            freeFailures: z.number().int().min(0).max(1_000).default(3),
            baseDelayMs: z.number().int().min(0).max(60_000).default(1_000),
            maxDelayMs: z.number().int().min(0).max(300_000).default(15_000),
            windowMs: z.number().int().min(1_000).max(86_400_000).default(15 * 60_000),
          })
          .default({ freeFailures: 3, baseDelayMs: 1_000, maxDelayMs: 15_000, windowMs: 15 * 60_000 }),
      })
      .default({
        sessionTtlMs: 14 * 3_600_000,
        maxFailedLoginsPerMinute: 10,
        maxSessionsPerOperator: 10,
        accountSlowdown: { freeFailures: 3, baseDelayMs: 1_000, maxDelayMs: 15_000, windowMs: 15 * 60_000 },
      }),
    supervision: supervisionSchema.default(supervisionSchema.parse({})),
    ops: opsSchema.default(opsSchema.parse({})),
    alarms: alarmsSchema.default(alarmsSchema.parse({})),
    escalation: escalationSchema.default(escalationSchema.parse({})),
    /**
     * Several active gateway nodes (docs/cluster.md): MQTT routed between them through Redis/Valkey
     * (gateway/cluster/routing.ts). Without a URL the gateway is a single node, as ever.
     */
    cluster: z
      .object({
        redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, "must look like redis://HOST:PORT or rediss://HOST:PORT (Redis or Valkey)").optional(),
        /** This node's fixed id (also its MQTT broker id): unique in the cluster, the same across restarts. */
        nodeId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-' (e.g. gw-a)").optional(),
        /** How often each node beats in the store (and looks for kiosks of nodes that stopped beating). */
        beatMs: z.number().int().min(100).max(60_000).default(5_000),
        /** A node that has not beaten for this long is dead: another takes over the supervision of its kiosks. */
        deadAfterMs: z.number().int().min(300).max(600_000).default(15_000),
        /**
         * A kiosk whose connection to this node closed is called offline only if it has not connected
         * again (here or on another node) within this long: a kiosk moving between nodes (its node
         * died, its link to it went silent) is not offline. Its first tries: ~1 s, 2 s, 4 s.
         */
        moveGraceMs: z.number().int().min(0).max(120_000).default(10_000),
      })
      .default({ beatMs: 5_000, deadAfterMs: 15_000, moveGraceMs: 10_000 }),
    sms: smsSchema.default({}),
    shutdown: z.object({ graceMs: z.number().int().min(0).default(5_000) }).default({ graceMs: 5_000 }),
    log: z.object({ level: logLevelSchema.default("info") }).default({ level: "info" }),
  })
  .superRefine((config, ctx) => {
    if (config.dispatch.url !== undefined && config.dispatch.secret === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["dispatch", "secret"],
        message: "is required with a dispatch URL (--dispatch-secret or SOS_DISPATCH_SECRET)",
      });
    }
    if (config.ops.url !== undefined && config.ops.secret === undefined) {
      ctx.addIssue({ code: "custom", path: ["ops", "secret"], message: "is required with an ops URL (--ops-secret or SOS_OPS_SECRET)" });
    }
    if (config.escalation.url !== undefined && config.escalation.secret === undefined) {
      ctx.addIssue({ code: "custom", path: ["escalation", "secret"], message: "is required with an escalation URL (--escalation-secret or SOS_ESCALATION_SECRET)" });
    }
    if (config.security.renewBeforeDays >= config.security.kioskCertDays) {
      ctx.addIssue({
        code: "custom",
        path: ["security", "renewBeforeDays"],
        message: `must be below security.kioskCertDays (${config.security.kioskCertDays}): otherwise every renewed certificate is due for renewal at once`,
      });
    }
    if (config.cluster.deadAfterMs < 2 * config.cluster.beatMs) {
      ctx.addIssue({ code: "custom", path: ["cluster", "deadAfterMs"], message: `must be at least twice beatMs (${2 * config.cluster.beatMs} ms): a node late by one beat is not dead` });
    }
    if (config.cluster.redisUrl !== undefined && config.cluster.nodeId === undefined) {
      ctx.addIssue({ code: "custom", path: ["cluster", "nodeId"], message: "is required with a cluster URL: give each node its own fixed id (--node-id gw-a)" });
    }
    if (config.ops.retry.maxMs < config.ops.retry.minMs) {
      ctx.addIssue({ code: "custom", path: ["ops", "retry", "maxMs"], message: "must not be below minMs" });
    }
    if (config.dispatch.circuit.probeMaxMs < config.dispatch.circuit.probeMinMs) {
      ctx.addIssue({ code: "custom", path: ["dispatch", "circuit", "probeMaxMs"], message: "must not be below probeMinMs" });
    }
    if (config.dispatch.retry.maxMs < config.dispatch.retry.minMs) {
      ctx.addIssue({ code: "custom", path: ["dispatch", "retry", "maxMs"], message: "must not be below minMs" });
    }
  });

export type GatewayConfig = Readonly<z.output<typeof gatewayConfigSchema>>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/** This gateway's node id: `cluster.nodeId`, else the broker id (a single node). Also its Aedes broker id. */
export function nodeIdOf(config: GatewayConfig): string {
  return config.cluster.nodeId ?? config.broker.id;
}

export function parseGatewayConfig(input: unknown, source = "gateway config"): GatewayConfig {
  return parseConfig(gatewayConfigSchema, input, source);
}

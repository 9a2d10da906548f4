/**
 * Kiosk health on the wire (see contract.ts for the topics):
 *
 * - `heartbeat` (kiosk → gateway, QoS 0, not retained): sent as soon as the link is up, then every
 *   `intervalS` while it stays up. `seq` starts at 1 with each agent start and only grows, so a reset
 *   means a restart; `intervalS` tells the gateway when to expect the next one.
 * - `status` (kiosk → gateway, QoS 1, retained): `online` right after each connect, `offline` with
 *   reason "shutdown" before a deliberate stop, and `offline` with reason "connection-lost" as the
 *   MQTT last will (written at connect time, so it carries no `at`: the broker sends it later).
 *
 * Self-test results travel inside the heartbeat: the last result of each check, with what it
 * measured. Faults are the kiosk's current fault names ("no-gateway", "selftest:camera", …).
 *
 * This module imports nothing from contract.ts (contract.ts imports it): the kiosk-state schema the
 * alert carries lives here and is re-exported there.
 */
import { z } from "zod";

const isoTime = z.iso.datetime({ offset: true });

/** What the kiosk's own sensors say (tamper switch, power supply); also carried by alerts. */
export const kioskStateSchema = z.object({
  tamper: z.enum(["open", "closed"]).optional(),
  power: z.enum(["mains", "battery"]).optional(),
  batteryPercent: z.number().min(0).max(100).optional(),
});
export type KioskState = z.infer<typeof kioskStateSchema>;

export const selfTestNameSchema = z.enum(["camera", "audio", "button"]);
export type SelfTestName = z.infer<typeof selfTestNameSchema>;

export const selfTestResultSchema = z.object({
  name: selfTestNameSchema,
  /** "not-applicable": this kiosk has no such part (no camera, a button without a readable line). */
  result: z.enum(["pass", "fail", "not-applicable"]),
  /** One line for a technician: what was seen, and for a failure what to check. */
  detail: z.string().max(500),
  at: isoTime,
  durationMs: z.number().int().min(0),
  /** What was measured: meanLuma, frameDiff, snrDb, levelDbfs, tries, volume … */
  measurements: z.record(z.string().max(32), z.number()).default({}),
});
export type SelfTestResult = z.infer<typeof selfTestResultSchema>;

export const linkTypeSchema = z.enum(["ethernet", "wifi", "cellular", "unknown"]);
export type LinkType = z.infer<typeof linkTypeSchema>;

/**
 * The second path's health (a cellular modem for SMS and voice, docs/fallback.md): absent on a kiosk
 * without a modem. A broken second path is also named in `faults` ("backup-path", "sms-test"), which makes the
 * kiosk degraded at the gateway.
 */
export const backupPathSchema = z.object({
  present: z.boolean(),
  registration: z.enum(["home", "roaming", "searching", "denied", "not-registered", "unknown"]),
  signalDbm: z.number().nullable(),
  sim: z.enum(["ready", "pin-required", "puk-required", "absent", "error", "unknown"]),
  checkedAt: isoTime.nullable(),
  /** The last scheduled end-to-end SMS test: when, and whether the centre's SMS ack came back. */
  lastTestAt: isoTime.nullable(),
  lastTestOk: z.boolean().nullable(),
  /** SMS sent in the last hour (alerts and tests) and the hourly budget. */
  smsLastHour: z.number().int().min(0),
  smsPerHour: z.number().int().min(0),
});
export type BackupPath = z.infer<typeof backupPathSchema>;
/** Where the kiosk's software update stands (device/update): its release, and the last try's outcome. */
export const updateReportSchema = z.object({
  phase: z.enum(["confirmed", "switching", "trying", "rolled-back"]),
  /** The last good release. */
  current: z.string().max(64),
  /** The release being tried. */
  target: z.string().max(64).nullable(),
  /** The release that was rolled back, and why. */
  failed: z.string().max(64).nullable(),
  reason: z.string().max(300).nullable(),
  at: isoTime,
});
export type UpdateReport = z.infer<typeof updateReportSchema>;

/** kiosk → gateway, QoS 0, every intervalS while connected. */
export const heartbeatSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().min(1),
  sentAt: isoTime,
  /** The kiosk config's own bound (health.heartbeatIntervalS): a longer promise is refused. */
  intervalS: z.number().int().min(1).max(3_600),
  agentVersion: z.string().max(64),
  /** Seconds since the agent started. */
  uptimeS: z.number().min(0),
  system: z.object({
    /** Seconds since the computer booted. */
    uptimeS: z.number().min(0),
    /** null where the board has no readable thermal zone. */
    cpuTempC: z.number().nullable(),
    load1: z.number().min(0),
    memFreeMb: z.number().min(0),
    /** Free space on the data folder's file system (the outbox lives there); null if unreadable. */
    diskFreeMb: z.number().min(0).nullable(),
  }),
  link: z.object({
    /** Guessed from the default route's interface name. */
    type: linkTypeSchema,
    iface: z.string().max(32).nullable(),
    /** Wi-Fi signal level where the kernel reports it cheaply; null otherwise. */
    signalDbm: z.number().nullable(),
  }),
  /** Alerts waiting in the outbox for an acknowledgement. */
  outboxDepth: z.number().int().min(0),
  openAlarm: z.object({ alertId: z.string().max(64), openedAt: isoTime, received: z.boolean() }).nullable(),
  faults: z.array(z.string().max(64)).max(32),
  /** The last result of each self-test (kept across restarts); empty before the first run. */
  selfTests: z.array(selfTestResultSchema).max(8),
  /** When the last scheduled test alarm was raised (EN 81-28: at least every 72 h). */
  lastTestAlarmAt: isoTime.nullable(),
  kioskState: kioskStateSchema,
  backupPath: backupPathSchema.optional(),
  /** Absent on kiosks not installed as a service (a checkout, the demo). */
  update: updateReportSchema.optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** kiosk → gateway, QoS 1, retained. */
export const statusSchema = z.object({
  v: z.literal(1),
  state: z.enum(["online", "offline"]),
  reason: z.enum(["connected", "shutdown", "connection-lost"]).optional(),
  /** Absent in the last will. */
  at: isoTime.optional(),
  agentVersion: z.string().max(64).optional(),
});
export type Status = z.infer<typeof statusSchema>;

/** The kiosk's last will on its status topic (QoS 1, retained): the broker publishes it when the connection is lost without DISCONNECT. */
export const OFFLINE_WILL: Status = { v: 1, state: "offline", reason: "connection-lost" };

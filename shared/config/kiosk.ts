import { gatewayUrlMessage, gatewayUrlProblem, isTlsGatewayUrl, MAX_GATEWAY_URLS } from "./gateway-url.js";
import { z } from "zod";
import { kioskIdSchema, locationSchema } from "../contract.js";
import { logLevelSchema } from "../log.js";
import { parseConfig, readJsonFile } from "./parse.js";
import { dirname, resolve } from "node:path";

const backoffSchema = z.object({
  minMs: z.number().int().min(10).default(1_000),
  maxMs: z.number().int().min(10).default(60_000),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
});

const reconnectSchema = backoffSchema.extend({
  /** Cap on the delay, drawn at random below it, while an SOS alert waits for its ack. */
  urgentMaxMs: z.number().int().min(100).max(60_000).default(3_000),
});

/** A BCM GPIO line number as printed on Raspberry Pi pinout charts (GPIO17 = 17). */
const bcmLine = z.number().int().min(0).max(53);
const arduinoPin = z.number().int().min(0).max(69);
const serialPath = z.string().min(1).describe("prefer /dev/serial/by-id/…: it survives re-plugging");

const buttonSchema = z.discriminatedUnion("driver", [
  z.object({
    driver: z.literal("stdin"),
    /** An empty line (the Enter key) counts as a press too: for the demo and bench tests. */
    enterIsPress: z.boolean().default(false),
  }),
  z.object({
    driver: z.literal("gpio"),
    /** BCM line of the button; the sysfs number is found at run time (chip base 0, 512 or 571). */
    line: bcmLine,
    activeLow: z.boolean().default(true),
    debounceMs: z.number().int().min(0).max(1_000).default(20),
    /** Level poll that recovers a missed edge (Pi 5 interrupts can be lost); 0 turns it off. */
    pollMs: z.number().int().min(0).max(10_000).default(250),
    tamperLine: bcmLine.optional(),
    sysfsRoot: z.string().default("/sys/class/gpio"),
  }),
  z.object({
    driver: z.literal("gpiod"),
    /** gpiochipN, a chip label, or "auto" (the Pi's header chip, found with gpiodetect). */
    chip: z.string().default("auto"),
    line: bcmLine,
    activeLow: z.boolean().default(true),
    bias: z.enum(["pull-up", "pull-down", "disable", "as-is"]).default("pull-up"),
    tamperLine: bcmLine.optional(),
    gpiomon: z.string().default("gpiomon"),
    gpiodetect: z.string().default("gpiodetect"),
  }),
  z.object({
    driver: z.literal("firmata"),
    path: serialPath,
    baudRate: z.number().int().default(57_600),
    pin: arduinoPin.default(2),
    /** Use the board's internal pull-up (button between pin and GND). */
    pullup: z.boolean().default(true),
    tamperPin: arduinoPin.optional(),
  }),
  z.object({
    driver: z.literal("serial"),
    path: serialPath,
    baudRate: z.number().int().default(115_200),
  }),
]);

const indicatorSchema = z.discriminatedUnion("driver", [
  /** No lights: the state is logged (laptops, the demo). */
  z.object({ driver: z.literal("none") }),
  z.object({
    driver: z.literal("gpio"),
    yellowLine: bcmLine,
    greenLine: bcmLine,
    buzzerLine: bcmLine.optional(),
    activeLow: z.boolean().default(false),
    sysfsRoot: z.string().default("/sys/class/gpio"),
  }),
  z.object({
    driver: z.literal("gpiod"),
    chip: z.string().default("auto"),
    yellowLine: bcmLine,
    greenLine: bcmLine,
    buzzerLine: bcmLine.optional(),
    activeLow: z.boolean().default(false),
    gpioset: z.string().default("gpioset"),
    gpiodetect: z.string().default("gpiodetect"),
  }),
  /** LEDs on the same Firmata board as the button (button.driver must be "firmata"). */
  z.object({ driver: z.literal("firmata"), yellowPin: arduinoPin.default(11), greenPin: arduinoPin.default(12), buzzerPin: arduinoPin.optional() }),
  /** LEDs driven by the serial panel (button.driver must be "serial"). */
  z.object({ driver: z.literal("serial") }),
]);

const pressSchema = z.object({
  /** A contact change must hold this long to count (bouncing contacts, spikes on long wires). */
  debounceMs: z.number().int().min(0).max(1_000).default(20),
  /** A press shorter than this is ignored (accidental touches); 0 = any press counts. */
  minHoldMs: z.number().int().min(0).max(10_000).default(0),
  /** Holding this long always raises a new alert, even while one is open (EN 81-28 bypass). */
  bypassHoldMs: z.number().int().min(1_000).max(120_000).default(30_000),
  /** Presses while an alarm is open update its press count instead of raising new alerts. */
  coalesceWhileOpen: z.boolean().default(true),
  /** Press-count updates are sent at most this often. */
  updateIntervalMs: z.number().int().min(0).max(60_000).default(2_000),
  /** An alarm the centre never closed stops absorbing presses after this long. */
  reopenAfterMs: z.number().int().min(60_000).default(2 * 60 * 60 * 1_000),
});

const audioSchema = z.object({
  /** "aplay" plays prompts through ALSA; "none" only logs them. */
  player: z.enum(["aplay", "none"]).default("aplay"),
  language: z.enum(["kk", "ru", "en"]).default("ru"),
  /** 0..100, applied to the samples before they reach the player. */
  volume: z.number().int().min(0).max(100).default(80),
  /** ALSA device for aplay -D; default: the system default. */
  device: z.string().optional(),
  /** Folder with {language}/{prompt}.wav, relative to kiosk.json's folder; default: the prompts shipped with the agent. */
  promptsDir: z.string().optional(),
});

const iceServerSchema = z.object({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

const mediaSchema = z.discriminatedUnion("driver", [
  /** No camera or call (a laptop, a data-only kiosk). */
  z.object({ driver: z.literal("none") }),
  z.object({
    driver: z.literal("wrtc"),
    /** "test" uses ffmpeg's lavfi test picture and a 440 Hz tone (demo, tests); "device" the camera and microphone. */
    capture: z.enum(["test", "device"]).default("device"),
    videoDevice: z.string().default("/dev/video0"),
    audioDevice: z.string().default("default"),
    width: z.number().int().min(160).max(1920).default(640),
    height: z.number().int().min(120).max(1080).default(480),
    fps: z.number().int().min(1).max(30).default(15),
    /** STUN/TURN for kiosks behind NAT on cellular links. */
    iceServers: z.array(iceServerSchema).default([]),
    /** A call with no media arriving for this long is reported failed ("no RTP"). */
    noMediaTimeoutMs: z.number().int().min(1_000).default(10_000),
    /** The operator's voice: "aplay" on the speaker, "file:PATH" (raw s16le 48 kHz mono) for tests, or "none". */
    speaker: z.string().default("aplay"),
    ffmpeg: z.string().default("ffmpeg"),
  }),
]);

const cameraCheckSchema = z.object({
  /** Mean luma (0..255, full range as ffmpeg's gray gives it: black ≈ 0) at or below this is "black": lens covered, camera dead, no light. */
  blackLumaMax: z.number().min(0).max(255).default(24),
  /** Mean absolute luma difference between two frames ~1 s apart at or below this is "frozen". */
  frozenDiffMax: z.number().min(0).max(255).default(0.1),
  /** Frames skipped first while a webcam's auto-exposure settles. */
  settleFrames: z.number().int().min(0).max(100).default(5),
  timeoutMs: z.number().int().min(1_000).max(60_000).default(15_000),
});

const audioCheckSchema = z.object({
  /** Playback levels tried one after another until the tone is heard, in % of full scale. */
  volumes: z.array(z.number().int().min(1).max(100)).min(1).max(5).default([30, 60, 100]),
  /** The 1 kHz tone must stand this far above everything else the microphone hears. */
  minSnrDb: z.number().min(0).max(60).default(10),
  /** … and be at least this loud at the microphone (dBFS). */
  minLevelDbfs: z.number().min(-120).max(0).default(-50),
  toneMs: z.number().int().min(300).max(5_000).default(1_500),
  /** The recorder: ffmpeg (as the call's capture) or arecord, both on the media's ALSA device. */
  recorder: z.enum(["ffmpeg", "arecord"]).default("ffmpeg"),
  timeoutMs: z.number().int().min(1_000).max(60_000).default(10_000),
});

const hhmmSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24 h)");

const selfTestSchema = z.object({
  enabled: z.boolean().default(true),
  /** Local time of day of the daily self-test (HH:MM, 24 h). */
  at: hhmmSchema.default("03:30"),
  /**
   * Local time of day (HH:MM, 24 h) when the camera is checked again, alone, after the daily run saw
   * a black picture (a camera on an unlit site sees black at night): that run's black is no verdict,
   * this one's is. Equal to `at`: the daily run is already in daylight and judges black at once.
   */
  daylightAt: hhmmSchema.default("12:30"),
  /** A self-test that could not run (a call or an alarm open) is tried again after this long. */
  retryAfterMin: z.number().int().min(1).max(24 * 60).default(10),
  camera: cameraCheckSchema.default(cameraCheckSchema.parse({})),
  audio: audioCheckSchema.default(audioCheckSchema.parse({})),
});

const healthSchema = z
  .object({
    /** A heartbeat goes to the gateway this often while the link is up (and once at each connect). */
    heartbeatIntervalS: z.number().int().min(1).max(3_600).default(10),
    selfTest: selfTestSchema.default(selfTestSchema.parse({})),
    /** A test alarm travels the whole alert path at least this often (EN 81-28: at most 72 h apart)… */
    testAlarmEveryH: z.number().min(1).max(72).default(24),
    /** … plus a random delay up to this long, so a fleet does not send them all at once. */
    testAlarmJitterH: z.number().min(0).max(24).default(2),
  })
  .refine((h) => h.testAlarmEveryH + h.testAlarmJitterH <= 72, { path: ["testAlarmJitterH"], message: "testAlarmEveryH + testAlarmJitterH must not exceed 72 (EN 81-28)" });

const gatewayUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = gatewayUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: gatewayUrlMessage(value, problem) });
});
const phoneNumber = z.string().regex(/^\+?[0-9]{3,20}$/, "must be a phone number: digits, optionally after +");

/** The cellular modem of the second path (docs/fallback.md); "none": no second path. */
const modemSchema = z.discriminatedUnion("driver", [
  z.object({ driver: z.literal("none") }),
  z.object({
    driver: z.literal("at"),
    /** The module's AT port, e.g. /dev/serial/by-id/usb-Quectel_EC25-if02-port0. */
    path: serialPath,
    baudRate: z.number().int().default(115_200),
    /** An `AT` this often proves the modem is still there. */
    pollIntervalMs: z.number().int().min(0).default(30_000),
  }),
]);

const smsTestSchema = z.object({
  /** The SMS path is tested end to end (an SMS test alert the centre acknowledges by SMS)… */
  enabled: z.boolean().default(true),
  /** … this often … */
  everyH: z.number().min(1).max(24 * 31).default(168),
  /** … plus a random delay up to this long (a fleet does not test at once). */
  jitterH: z.number().min(0).max(24 * 7).default(12),
  /** No acknowledgement within this long: the test failed (the backup path is broken). */
  ackTimeoutMs: z.number().int().min(1_000).default(300_000),
});

const fallbackSchema = z.object({
  /** An SOS alert not acknowledged this long after its press, with the IP link down, goes by SMS. */
  afterMs: z.number().int().min(1_000).max(600_000).default(15_000),
  /** The centre's SMS numbers, tried in order. */
  smsNumbers: z.array(phoneNumber).max(5).default([]),
  /** The centre's voice number, rung after the SMS went out; none: no voice call. */
  voiceNumber: phoneNumber.optional(),
  /** This kiosk's SMS key (32 bytes base64url), issued by `sos provision` / `sos enroll`. */
  smsKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes in base64url (43 characters)").optional(),
  /** At most this many SMS in any hour (alerts and tests together): a cost and flood cap. */
  smsPerHour: z.number().int().min(1).max(100).default(10),
  /** Tries per number (no registration, a network error), with backoff between them. */
  smsAttempts: z.number().int().min(1).max(10).default(3),
  smsRetry: backoffSchema.default({ minMs: 5_000, maxMs: 30_000, factor: 2, jitter: 0.2 }),
  /** An SMS sent but not acknowledged: after this long the next number is tried (new counter). */
  smsAckTimeoutMs: z.number().int().min(1_000).default(120_000),
  /** A voice call is hung up after this long (the centre may also hang up). */
  callMaxMs: z.number().int().min(10_000).default(600_000),
  /** The modem's health (SIM, registration, signal) is read this often. */
  healthEveryS: z.number().int().min(1).max(3_600).default(60),
  smsTest: smsTestSchema.default(smsTestSchema.parse({})),
});

const updateSchema = z.object({
  /**
   * The update home (install.sh: /var/lib/sos-kiosk): releases/, the `current` link and
   * update/state.json. Relative to the config file. Absent: not installed as a service, no updates.
   */
  home: z.string().min(1).optional(),
  /** The release-signing public key (PEM) this kiosk trusts, relative to the config file. */
  publicKey: z.string().min(1).default("release-signing.pub"),
  /** A new release must pass its health gate (connected, heartbeat sent, button self-test) this soon after the switch. */
  gateDeadlineS: z.number().int().min(2).max(3_600).default(300),
});

/** kiosk.json: the kiosk's whole config, written by `sos provision`. */
export const kioskConfigSchema = z.object({
  version: z.literal(1),
  kioskId: kioskIdSchema,
  name: z.string().max(200).optional(),
  location: locationSchema,
  mqtt: z.object({
    /** The gateway; or `urls` for several gateway nodes (not both). */
    url: gatewayUrlSchema.optional(),
    /**
     * Several gateway nodes (a cluster): the kiosk connects to the first in its `order`, and whenever a
     * connection fails or drops it tries the next one (round the list), with the usual backoff between tries.
     * On another node than the first of its order it goes back to the first once that answers again
     * (returnHomeAfterS), so a node that died or was upgraded gets its kiosks back.
     */
    urls: z
      .array(gatewayUrlSchema, { error: 'must be a list of gateway addresses: ["mqtt://HOST:PORT", …]' })
      .refine((urls) => urls.length > 0, "lists no gateway: give at least one mqtt(s)://HOST:PORT")
      .refine((urls) => urls.length <= MAX_GATEWAY_URLS, `lists more than ${MAX_GATEWAY_URLS} gateway nodes: give at most ${MAX_GATEWAY_URLS}`)
      .optional(),
    /**
     * The order `urls` are tried in: `spread` (default) an order of the kiosk's own drawn from its id,
     * so a fleet given one list spreads evenly over the nodes and a dead node's kiosks over the
     * others (../gateway-order.ts); `listed` as given (a standby site last).
     */
    order: z.enum(["spread", "listed"]).default("spread"),
    /** Password kiosks (demo, development): username = kiosk id. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /**
     * Certificate kiosks (`sos enroll`): PEM files, relative to the config file. The key never leaves
     * the kiosk; the CN of cert is the kiosk id; ca is the gateway's CA.
     */
    tls: z.object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }).optional(),
    /**
     * MQTT keepalive: mqtt.js gives the link up 1.5 × this after the gateway last answered (12 s: a
     * silently dead link is noticed within 18 s). The link sends its own PINGREQs more often
     * (pingIntervalMs), so mqtt.js sends none.
     */
    keepaliveSeconds: z.number().int().min(5).max(600).default(12),
    /**
     * The link sends a PINGREQ at most this long after the last one (each heartbeat carries one too):
     * 5 s, so a silently dead node is noticed within pingIntervalMs + pingTimeoutMs = 10 s, inside
     * the keepalive window, and the kiosk is on another node by 1.5 × keepalive. A ping and its
     * answer are ~130 bytes on the wire, about 5% of what the heartbeats already send.
     */
    pingIntervalMs: z.number().int().min(1_000).max(600_000).default(5_000),
    /**
     * A PINGREQ the gateway has not answered (nothing at all heard from it) within this long: the
     * link is given up at once, sooner than the keepalive would, and the next node tried.
     */
    pingTimeoutMs: z.number().int().min(1_000).max(60_000).default(5_000),
    /** From the start of a connection to the gateway's CONNACK: a node whose machine answers but cannot take the kiosk now. */
    connectTimeoutMs: z.number().int().min(500).default(10_000),
    /**
     * A TCP connect nothing answers (a node's machine is gone: its SYNs go unanswered) is given up
     * after this long and the next node tried, without waiting out connectTimeoutMs. 5 s lets a
     * slow cellular link's SYN be sent three times (at 0, 1 and 3 s). The lower of the two applies.
     */
    tcpConnectTimeoutMs: z.number().int().min(500).max(60_000).default(5_000),
    /**
     * Several nodes: on another node than the first of its order, the kiosk tries to go back to it a
     * random time between this and twice this after it got there (a fleet spreads its return), when no
     * SOS alert, open alarm or call is under way; a try is at most 3 s away from the node it left, and
     * each that fails doubles the wait before the next (device/link/home-return.ts). 0: stays where it
     * got in.
     */
    returnHomeAfterS: z.number().int().min(0).max(7 * 86_400).default(1_800),
  }, { error: 'must be an object: { "url": "mqtt(s)://HOST:PORT", "username": …, "password": … } (or "urls": [...] and "tls": {...}), as \'sos provision\' or \'sos enroll\' wrote it' }),
  /** Where the outbox lives; relative paths are relative to the config file. */
  dataDir: z.string().min(1).default("data"),
  button: buttonSchema.default({ driver: "stdin", enterIsPress: false }),
  indicator: indicatorSchema.default({ driver: "none" }),
  press: pressSchema.default(pressSchema.parse({})),
  audio: audioSchema.default(audioSchema.parse({})),
  media: mediaSchema.default({ driver: "none" }),
  /** No gateway for this long shows the fault pattern (the kiosk cannot raise an alarm). */
  faultAfterLinkDownMs: z.number().int().min(1_000).default(120_000),
  alerts: z
    .object({
      /**
       * An alert published but not acknowledged within this time is sent again, then with backoff up to
       * resend.maxMs (30 s: a gateway whose store was down acknowledges within that of coming back).
       */
      ackTimeoutMs: z.number().int().min(100).default(10_000),
      resend: backoffSchema.default({ minMs: 10_000, maxMs: 30_000, factor: 2, jitter: 0.2 }),
    })
    .default({ ackTimeoutMs: 10_000, resend: { minMs: 10_000, maxMs: 30_000, factor: 2, jitter: 0.2 } }),
  /**
   * Reconnect backoff. An idle kiosk backs off up to maxMs; while the outbox holds an unacknowledged
   * SOS alert the delay is also capped at urgentMaxMs with full jitter (0..cap), and a press during a
   * longer wait reconnects at once.
   */
  reconnect: reconnectSchema.default(reconnectSchema.parse({})),
  log: z.object({ level: logLevelSchema.default("info") }).default({ level: "info" }),
  health: healthSchema.default(healthSchema.parse({})),
  modem: modemSchema.default({ driver: "none" }),
  fallback: fallbackSchema.default(fallbackSchema.parse({})),
  update: updateSchema.default(updateSchema.parse({})),
});
/** Lights on a Firmata board or a serial panel need the button on the same board or panel. */
const kioskConfigRefined = kioskConfigSchema.superRefine((config, ctx) => {
  const shared = config.indicator.driver === "firmata" || config.indicator.driver === "serial";
  if (shared && config.button.driver !== config.indicator.driver) {
    ctx.addIssue({
      code: "custom",
      path: ["indicator", "driver"],
      message: `"${config.indicator.driver}" lights need button.driver "${config.indicator.driver}" too (they are on the same board)`,
    });
  }
  const tls = config.mqtt.tls !== undefined;
  if (!tls && (config.mqtt.username === undefined || config.mqtt.password === undefined)) {
    ctx.addIssue({ code: "custom", path: ["mqtt"], message: "needs username and password, or tls {ca, cert, key} (from 'sos enroll')" });
  }
  const { url, urls } = config.mqtt;
  if (url === undefined && urls === undefined) ctx.addIssue({ code: "custom", path: ["mqtt", "url"], message: "is required: the gateway's mqtt(s)://HOST:PORT (or urls: [...] for several gateway nodes)" });
  if (url !== undefined && urls !== undefined) ctx.addIssue({ code: "custom", path: ["mqtt", "urls"], message: "give url (one gateway) or urls (several), not both" });
  if (url !== undefined && tls && !isTlsGatewayUrl(url)) ctx.addIssue({ code: "custom", path: ["mqtt", "url"], message: "must be mqtts://HOST:PORT with tls" });
  (urls ?? []).forEach((u, i) => {
    if (tls && !isTlsGatewayUrl(u)) ctx.addIssue({ code: "custom", path: ["mqtt", "urls", i], message: "must be mqtts://HOST:PORT with tls" });
  });
  if (config.modem.driver !== "none") {
    if (config.fallback.smsNumbers.length === 0) ctx.addIssue({ code: "custom", path: ["fallback", "smsNumbers"], message: "a modem needs at least one centre SMS number" });
    if (config.fallback.smsKey === undefined) ctx.addIssue({ code: "custom", path: ["fallback", "smsKey"], message: "a modem needs the kiosk's SMS key (from 'sos provision' or 'sos enroll')" });
  }
  if (config.reconnect.maxMs < config.reconnect.minMs) ctx.addIssue({ code: "custom", path: ["reconnect", "maxMs"], message: "must not be below minMs" });
});


export type KioskConfig = Readonly<z.output<typeof kioskConfigRefined>>;
export type ButtonConfig = KioskConfig["button"];

/** The gateway URLs a kiosk tries, in order (one with `mqtt.url`). */
export function gatewayUrls(mqtt: KioskConfig["mqtt"]): readonly string[] {
  // A node listed twice is tried once (sos provision refuses such a list; a hand-edited file may have one).
  return [...new Set(mqtt.urls ?? (mqtt.url === undefined ? [] : [mqtt.url]))];
}
export type IndicatorConfig = KioskConfig["indicator"];
export type PressConfig = KioskConfig["press"];
export type AudioConfig = KioskConfig["audio"];
export type MediaConfig = KioskConfig["media"];
export type HealthConfig = KioskConfig["health"];
export type ModemConfig = KioskConfig["modem"];
export type FallbackConfig = KioskConfig["fallback"];
export type UpdateConfig = KioskConfig["update"];
export type WrtcMediaConfig = Extract<MediaConfig, { driver: "wrtc" }>;
export type KioskConfigInput = z.input<typeof kioskConfigRefined>;

export function parseKioskConfig(input: unknown, source = "kiosk config"): KioskConfig {
  return parseConfig(kioskConfigRefined, input, source);
}

/** Loads kiosk.json; the data dir and TLS files are resolved against the file's folder (the data dir unless overridden). */
export function loadKioskConfig(path: string, overrides: { dataDir?: string } = {}): KioskConfig {
  return resolveKioskConfig(parseKioskConfig(readJsonFile(path), path), path, overrides);
}

/** A parsed kiosk.json with its data dir, TLS files, update paths and prompts folder resolved against the file's folder. */
export function resolveKioskConfig(parsed: KioskConfig, path: string, overrides: { dataDir?: string } = {}): KioskConfig {
  const here = dirname(path);
  const dataDir = overrides.dataDir ?? resolve(here, parsed.dataDir);
  const tls = parsed.mqtt.tls;
  const mqtt = tls === undefined ? parsed.mqtt : { ...parsed.mqtt, tls: { ca: resolve(here, tls.ca), cert: resolve(here, tls.cert), key: resolve(here, tls.key) } };
  const update = { ...parsed.update, publicKey: resolve(here, parsed.update.publicKey), ...(parsed.update.home === undefined ? {} : { home: resolve(here, parsed.update.home) }) };
  const audio = parsed.audio.promptsDir === undefined ? parsed.audio : { ...parsed.audio, promptsDir: resolve(here, parsed.audio.promptsDir) };
  return parseKioskConfig({ ...parsed, dataDir, mqtt, update, audio }, path);
}

/** Every problem of a kiosk config as zod reports it (each with its path), or null when it is valid. */
export function kioskConfigError(input: unknown): z.ZodError | null {
  const result = kioskConfigRefined.safeParse(input);
  return result.success ? null : result.error;
}

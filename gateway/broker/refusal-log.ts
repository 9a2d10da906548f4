/**
 * Lines a peer can cause (refused connections, publishes and subscriptions, client and connection
 * errors), logged without letting a flood drown the log: per line, reason label and source
 * address, the first `perKey` of a window are logged one by one (e.g. "connection refused"),
 * the rest only counted; when the window ends, one summary line (e.g. "connection refusals not
 * logged one by one") gives the count. At most `total` lines per window over all keys (an attacker with many addresses),
 * after which everything is counted, new addresses under their reason alone: a window writes at most
 * `total` lines one by one and a summary line per address logged plus one per reason. A flood of guesses would otherwise write a line per attempt and
 * push the lines that matter (alerts, dispatch) out of a rate-limited journal. The metric
 * `sos_mqtt_refused_connections_total` still counts every refusal.
 */
import type { Logger } from "pino";

export interface RefusalLogOptions {
  /** Lines logged one by one per reason label and address in a window. */
  readonly perKey: number;
  /** Lines logged one by one in a window over all keys. */
  readonly total: number;
  readonly windowMs: number;
}

/** The defaults of the gateway's config (`limits.refusalLog*`). */
export const DEFAULT_REFUSAL_LOG: RefusalLogOptions = { perKey: 20, total: 200, windowMs: 60_000 };

/** A sampled line: its message, and the summary line that counts those not logged one by one. */
export interface SampledLine {
  readonly message: string;
  readonly summary: string;
}

export const CONNECTION_REFUSED: SampledLine = { message: "connection refused", summary: "connection refusals not logged one by one" };
export const TLS_HANDSHAKE_FAILED: SampledLine = { message: "TLS handshake failed", summary: "connection refusals not logged one by one" };
export const PUBLISH_REFUSED: SampledLine = { message: "publish refused: client disconnected", summary: "publish refusals not logged one by one" };
export const SUBSCRIBE_REFUSED: SampledLine = { message: "subscription refused: client disconnected", summary: "subscription refusals not logged one by one" };
/** A stored subscription refused when a session is restored (the client stays connected). */
export const RESTORED_SUBSCRIPTION_REFUSED: SampledLine = { message: "subscription refused", summary: "subscription refusals not logged one by one" };
export const CLIENT_ERROR: SampledLine = { message: "client error", summary: "client errors not logged one by one" };
export const CONNECTION_ERROR: SampledLine = { message: "connection error", summary: "connection errors not logged one by one" };

/** A peer-controlled string (a client id, username, topic, error message) is logged up to this many characters. */
export const MAX_FIELD_CHARS = 256;

function clip(value: unknown): unknown {
  if (typeof value === "string") return value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}… (${value.length} characters)` : value;
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? clip(v) : v]));
  }
  return value;
}

/** The line's fields with every string a peer could make huge clipped (one level of plain objects deep, as `err: { message }`). */
export function clipFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, clip(v)]));
}

/** Keys remembered; past this, refusals are counted under their label alone. */
const MAX_KEYS = 10_000;

interface Window {
  readonly line: SampledLine;
  readonly label: string;
  readonly address: string;
  logged: number;
  suppressed: number;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private logged = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: RefusalLogOptions = DEFAULT_REFUSAL_LOG,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.options.windowMs);
    this.timer.unref();
  }

  /** A refusal (or error): `label` is its metric label, `fields` what the line says (address, reason …). */
  refused(label: string, fields: Record<string, unknown> & { address?: string | null }, line: SampledLine = CONNECTION_REFUSED): void {
    const address = fields.address ?? "unknown";
    let key = `${line.message}|${label}|${address}`;
    // Over the window's cap (or the key limit), a new address is counted with every other under its
    // reason alone: one summary line per reason, however many addresses a flood comes from.
    if (!this.windows.has(key) && (this.logged >= this.options.total || this.windows.size >= MAX_KEYS)) key = `${line.message}|${label}|*`;
    let w = this.windows.get(key);
    if (w === undefined) {
      w = { line, label, address: key.endsWith("|*") ? "*" : address, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged < this.options.perKey && this.logged < this.options.total) {
      w.logged += 1;
      this.logged += 1;
      this.log.warn(clipFields(fields), line.message);
    } else {
      w.suppressed += 1;
    }
  }

  /** Ends the window: one line per key with refusals not logged one by one. */
  flush(): void {
    for (const w of this.windows.values()) {
      if (w.suppressed === 0) continue;
      this.log.warn({ label: w.label, address: w.address, suppressed: w.suppressed, windowS: this.options.windowMs / 1_000 }, w.line.summary);
    }
    this.windows.clear();
    this.logged = 0;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

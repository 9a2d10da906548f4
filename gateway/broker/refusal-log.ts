/**
 * Refused connections, logged without letting a flood drown the log: per reason label and source
 * address, the first `perKey` refusals of a window are logged one by one ("connection refused"),
 * the rest only counted; when the window ends, one "connection refusals not logged one by one" line
 * gives the count. At most `total` lines per window over all keys (an attacker with many addresses),
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
  /** The end-of-window line for what was not logged one by one (default: connection refusals). */
  readonly summary?: string;
}

/** The defaults of the gateway's config (`limits.refusalLog*`). */
export const DEFAULT_REFUSAL_LOG: RefusalLogOptions = { perKey: 20, total: 200, windowMs: 60_000 };

/** Keys remembered; past this, refusals are counted under their label alone. */
const MAX_KEYS = 10_000;

interface Window {
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

  /** A refused connection: `label` is the metric label, `fields` what the line says (address, reason …). */
  refused(label: string, fields: Record<string, unknown> & { address?: string | null }, message = "connection refused"): void {
    const address = fields.address ?? "unknown";
    let key = `${label}|${address}`;
    // Over the window's cap (or the key limit), a new address is counted with every other under its
    // reason alone: one summary line per reason, however many addresses a flood comes from.
    if (!this.windows.has(key) && (this.logged >= this.options.total || this.windows.size >= MAX_KEYS)) key = `${label}|*`;
    let w = this.windows.get(key);
    if (w === undefined) {
      w = { label, address: key.endsWith("|*") ? "*" : address, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged < this.options.perKey && this.logged < this.options.total) {
      w.logged += 1;
      this.logged += 1;
      this.log.warn(fields, message);
    } else {
      w.suppressed += 1;
    }
  }

  /** Ends the window: one line per key with refusals not logged one by one. */
  flush(): void {
    for (const w of this.windows.values()) {
      if (w.suppressed === 0) continue;
      this.log.warn({ label: w.label, address: w.address, suppressed: w.suppressed, windowS: this.options.windowMs / 1_000 }, this.options.summary ?? "connection refusals not logged one by one");
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

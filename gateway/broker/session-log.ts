/**
 * The connect and disconnect lines of kiosks and operator pages, sampled per client: one that
 * reconnects in a loop (a stolen or broken kiosk: its credentials are valid, so nothing refuses it)
 * writes its first `perKey` lines of each kind in a window, then one summary line per client and kind
 * when the window ends ("session lines not logged one by one"). A fleet reconnecting after a restart
 * logs every kiosk once. Only authenticated clients reach it, so it remembers at most the fleet and
 * the operators, for one window.
 */
import type { Logger } from "pino";

interface Count {
  readonly key: string;
  readonly message: string;
  logged: number;
  suppressed: number;
}

export class SessionLog {
  private readonly counts = new Map<string, Count>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: { readonly perKey: number; readonly windowMs: number },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.options.windowMs);
    this.timer.unref();
  }

  /** Logs `message` at info for the client `key` (a kiosk id, operator:NAME), unless it has said it `perKey` times this window. */
  info(key: string, fields: Record<string, unknown>, message: string): void {
    const id = `${key}|${message}`;
    let count = this.counts.get(id);
    if (count === undefined) {
      count = { key, message, logged: 0, suppressed: 0 };
      this.counts.set(id, count);
    }
    if (count.logged < this.options.perKey) {
      count.logged += 1;
      this.log.info(fields, message);
    } else {
      count.suppressed += 1;
    }
  }

  flush(): void {
    for (const c of this.counts.values()) {
      if (c.suppressed > 0) this.log.warn({ client: c.key, line: c.message, suppressed: c.suppressed, windowS: this.options.windowMs / 1_000 }, "session lines not logged one by one");
    }
    this.counts.clear();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

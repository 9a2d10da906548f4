/**
 * The gateway's own stalls (CPU starvation, a long synchronous task): a timer ticks every tickMs and
 * measures how late it runs. A stall longer than thresholdMs is logged, counted and announced
 * (`gateway.stalled`), and supervision asks `stalledSince` before it declares a kiosk silent: while
 * the loop was stalled, heartbeats sat unread in socket buffers, which is the gateway's fault, not
 * the kiosk's.
 */
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";

const KEEP_MS = 3_600_000;

export interface StallWatch {
  /** The longest stall (ms) that ended at or after `sinceMs` (0 when none); checks the loop's lateness up to now first. */
  stalledSince(sinceMs: number): number;
}

export interface StallOptions {
  readonly tickMs: number;
  readonly thresholdMs: number;
}

export class StallDetector implements StallWatch {
  private timer: NodeJS.Timeout | undefined;
  private last: number;
  private stalls: { endedAt: number; ms: number }[] = [];

  constructor(
    private readonly options: StallOptions,
    private readonly deps: { now: () => number; log: Logger; bus: EventBus<GatewayEvents> },
  ) {
    this.last = deps.now();
  }

  start(): void {
    this.last = this.deps.now();
    this.timer = setInterval(() => this.check(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  stalledSince(sinceMs: number): number {
    this.check();
    let longest = 0;
    for (const s of this.stalls) if (s.endedAt >= sinceMs) longest = Math.max(longest, s.ms);
    return longest;
  }

  /** How late the loop is since the last check; a lateness above the threshold is a stall. */
  check(): void {
    const now = this.deps.now();
    const late = now - this.last - this.options.tickMs;
    this.last = now;
    if (late <= this.options.thresholdMs) return;
    this.stalls = this.stalls.filter((s) => s.endedAt > now - KEEP_MS);
    this.stalls.push({ endedAt: now, ms: late });
    this.deps.log.warn({ stalledMs: late }, "gateway event loop stalled: silent kiosks get a grace period before they are offline");
    this.deps.bus.emit("gateway.stalled", { ms: late, at: new Date(now).toISOString() });
  }
}

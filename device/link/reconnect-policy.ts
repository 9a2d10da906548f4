/**
 * When the kiosk tries the gateway again after its link dropped or a try failed.
 *
 * Idle (nothing waiting for an ack): the shared backoff (by default 1 s doubling to 60 s, up to 20 %
 * jitter): an idle kiosk costs the gateway little while it is away.
 *
 * Urgent (an SOS alert waits in the outbox): the same growth, but never above `urgentMaxMs` (3 s by
 * default) and drawn uniformly between 0 and that ("full jitter"). So a kiosk holding an alert is
 * back within the cap after the link heals, and kiosks that lost the link together still spread
 * their tries over the whole window instead of arriving in one instant.
 */
import { backoffDelay } from "../../shared/backoff.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";

export type ReconnectConfig = KioskConfig["reconnect"];

/** Delay before try number `attempt` (1 = the first) for an idle or an urgent kiosk. */
export function reconnectDelay(policy: ReconnectConfig, attempt: number, urgent: boolean, random: () => number = Math.random): number {
  if (!urgent) return backoffDelay(policy, attempt, random);
  const cap = Math.min(policy.maxMs, policy.urgentMaxMs);
  return backoffDelay({ minMs: Math.min(policy.minMs, cap), maxMs: cap, factor: policy.factor, jitter: 1 }, attempt, random);
}

/** Counts tries and hands out the next delay (`reset()` once connected), and holds the one pending try. */
export class ReconnectPolicy {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending try runs (epoch ms), and what it does. */
  private due: { readonly at: number; readonly run: () => void } | undefined;

  constructor(
    private readonly policy: ReconnectConfig,
    private readonly random: () => number = Math.random,
  ) {}

  next(urgent: boolean): number {
    this.attempt += 1;
    return reconnectDelay(this.policy, this.attempt, urgent, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** A wait longer than this is cut short when an SOS alert is raised during it. */
  get urgentMaxMs(): number {
    return Math.min(this.policy.maxMs, this.policy.urgentMaxMs);
  }

  /** Runs `run` after delayMs, replacing any pending try. */
  schedule(delayMs: number, run: () => void): void {
    clearTimeout(this.timer);
    this.due = { at: Date.now() + delayMs, run };
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = undefined;
      run();
    }, delayMs);
  }

  /** Runs the pending try now when it is further off than the urgent cap; returns the wait it cut (ms), or undefined. */
  hurry(): number | undefined {
    const due = this.due;
    if (due === undefined) return undefined;
    const waitMs = due.at - Date.now();
    if (waitMs <= this.urgentMaxMs) return undefined;
    this.schedule(0, due.run);
    return waitMs;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = undefined;
  }
}

/**
 * The longest a silently dead link (socket open, nothing arriving) goes unnoticed. mqtt.js 5.16's
 * keepalive timer ticks every ceil(keepalive / 2) and, restarted by every ack or PINGRESP, sends
 * PINGREQ on the second tick and gives the link up on the third, 1.5 × keepalive after the last
 * packet the gateway answered (node_modules/mqtt/build/lib/KeepaliveManager.js). With the link's own
 * pings (one at most pingIntervalMs after the last, each to be answered within pingTimeoutMs,
 * device/link/mqtt-link.ts), the next unanswered one gives it up sooner: pingIntervalMs + pingTimeoutMs.
 */
export function deadLinkNoticedWithinMs(keepaliveSeconds: number, pings?: { pingIntervalMs: number; pingTimeoutMs: number }): number {
  const keepalive = 3 * Math.ceil((keepaliveSeconds * 1_000) / 2);
  return pings === undefined ? keepalive : Math.min(keepalive, pings.pingIntervalMs + pings.pingTimeoutMs);
}

/**
 * Turns raw contact edges from any button driver into presses:
 * - a change must stay put for debounceMs to count (bouncing contacts);
 * - a press counts once it has been held minHoldMs (accidental touches; 0 = at once);
 * - a hold of bypassHoldMs raises a `bypass` press, once per hold (EN 81-28: holding the button
 *   always gets through, whatever filtering is on). A stuck button gives one press and one bypass.
 * Time comes from the injected clock and the global timers, which tests fake.
 */
import type { Clock } from "../../shared/clock.js";
import type { PressConfig } from "../../shared/config/kiosk.js";

export type PressKind = "press" | "bypass";

export interface PressListener {
  (kind: PressKind, at: Date): void;
}

type Level = "up" | "down";

export class PressRules {
  private raw: Level = "up";
  private stable: Level = "up";
  private edgeAt: Date | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private bypassTimer: NodeJS.Timeout | undefined;
  /** Hold times that ran out while a release was still settling: decided when it settles. */
  private due: { kind: PressKind; at: Date; dueAt: number }[] = [];

  constructor(
    private readonly config: Pick<PressConfig, "debounceMs" | "minHoldMs" | "bypassHoldMs">,
    private readonly clock: Clock,
    private readonly onPress: PressListener,
  ) {}

  /** The contact closed (button pressed down). */
  down(at: Date = this.clock.now()): void {
    this.edge("down", at);
  }

  /** The contact opened (button let go). */
  up(at: Date = this.clock.now()): void {
    this.edge("up", at);
  }

  get isHeld(): boolean {
    return this.stable === "down";
  }

  stop(): void {
    clearTimeout(this.debounceTimer);
    clearTimeout(this.holdTimer);
    clearTimeout(this.bypassTimer);
    this.due = [];
  }

  private edge(level: Level, at: Date): void {
    if (level === this.raw) return;
    this.raw = level;
    this.edgeAt = at;
    clearTimeout(this.debounceTimer);
    if (this.config.debounceMs === 0) {
      this.settle();
      return;
    }
    this.debounceTimer = setTimeout(() => this.settle(), this.config.debounceMs);
  }

  private settle(): void {
    if (this.raw === this.stable) {
      // Bounced back before it settled: the hold went on, so what came due meanwhile counts.
      this.fireDue(Number.POSITIVE_INFINITY);
      return;
    }
    this.stable = this.raw;
    const at = this.edgeAt ?? this.clock.now();
    if (this.stable === "up") {
      clearTimeout(this.holdTimer);
      clearTimeout(this.bypassTimer);
      // Held until the release edge: only what came due before that edge counts.
      this.fireDue(at.getTime());
      return;
    }
    // Hold times run from the edge, not from the end of the debounce window.
    const downAt = at.getTime();
    const elapsed = Math.max(0, this.clock.now().getTime() - downAt);
    const { minHoldMs, bypassHoldMs } = this.config;
    if (minHoldMs <= elapsed) this.onPress("press", at);
    else this.holdTimer = setTimeout(() => this.reached("press", at, downAt + minHoldMs), minHoldMs - elapsed);
    this.bypassTimer = setTimeout(() => this.reached("bypass", this.clock.now(), downAt + bypassHoldMs), Math.max(0, bypassHoldMs - elapsed));
  }

  /**
   * A hold time ran out. It counts if the contact is still closed; while a release is still being
   * debounced it is not yet known whether the button was let go before that time, so wait for it.
   */
  private reached(kind: PressKind, at: Date, dueAt: number): void {
    if (this.raw === "down") this.onPress(kind, at);
    else this.due.push({ kind, at, dueAt });
  }

  private fireDue(releasedAt: number): void {
    const due = this.due;
    this.due = [];
    for (const d of due) if (d.dueAt <= releasedAt) this.onPress(d.kind, d.at);
  }
}

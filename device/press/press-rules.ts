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
    if (this.raw === this.stable) return; // bounced back before it settled
    this.stable = this.raw;
    const at = this.edgeAt ?? this.clock.now();
    if (this.stable === "up") {
      clearTimeout(this.holdTimer);
      clearTimeout(this.bypassTimer);
      return;
    }
    // Hold times run from the edge, not from the end of the debounce window.
    const elapsed = Math.max(0, this.clock.now().getTime() - at.getTime());
    if (this.config.minHoldMs <= elapsed) this.onPress("press", at);
    else this.holdTimer = setTimeout(() => this.onPress("press", at), this.config.minHoldMs - elapsed);
    this.bypassTimer = setTimeout(() => this.onPress("bypass", this.clock.now()), Math.max(0, this.config.bypassHoldMs - elapsed));
  }
}

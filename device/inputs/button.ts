import type { EventEmitter } from "node:events";
import type { BackoffPolicy } from "../../shared/backoff.js";

export interface ButtonEvent {
  readonly at: Date;
}

export interface TamperEvent {
  readonly at: Date;
  /** True when the case is open. */
  readonly open: boolean;
}

export interface PowerEvent {
  readonly at: Date;
  readonly source: "mains" | "battery";
  /** Battery charge, 0..100, where the hardware reports it. */
  readonly batteryPercent?: number;
}

export interface ButtonEvents {
  press: [ButtonEvent];
  release: [ButtonEvent];
  /** Only from drivers wired to a tamper switch. */
  tamper: [TamperEvent];
  /** Only from drivers that see the power supply (the serial panel). */
  power: [PowerEvent];
  /** The driver cannot read the button (unplugged panel, no GPIO chip, gpiomon missing): once per outage. */
  error: [Error];
  /** The driver reads the button again after an `error`: once per outage. */
  recovered: [];
}

/**
 * How soon a button driver tries its device again (open the tty, start gpiomon, read sysfs): the
 * button is the one part that must come back at once when its hardware does, so no long backoff.
 * Each attempt is cheap; only the first failure of an outage and each recovery are logged.
 */
export const BUTTON_RETRY: BackoffPolicy = { minMs: 250, maxMs: 500, factor: 2, jitter: 0.2 };

/** The button line's level as the self-test reads it. */
export type CircuitReading =
  | { readonly state: "idle" }
  | { readonly state: "active" }
  | { readonly state: "unavailable"; readonly reason: string };

/**
 * The port every button driver implements (stdin, gpio, gpiod, firmata, serial).
 * A driver emits `press` when the contact closes and `release` when it opens, as raw edges: the
 * press rules (device/press) debounce them and decide what is an alarm. A driver never throws from
 * start() for a hardware fault that may pass (an unplugged board): it emits `error` and keeps trying,
 * and `recovered` once it reads the button again (the kiosk reports `button:not-working` between).
 */
export interface ButtonInput extends EventEmitter<ButtonEvents> {
  readonly driver: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * For the self-test: the button line's level now ("active" = contact closed). Only drivers that
   * can read their line have it; a closed contact with nobody at the kiosk is a stuck button or a
   * short. A cut wire reads idle: only an end-of-line resistor would tell it apart.
   */
  circuit?(): Promise<CircuitReading>;
  /**
   * For the systemd watchdog: false when the driver's own machinery has died for good (not when
   * the hardware is unplugged: the driver keeps trying then, and restarting the agent would not
   * help). Drivers without it count as alive between start() and stop().
   */
  alive?(): boolean;
}

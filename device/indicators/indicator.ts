/**
 * The port every indicator driver implements (none, gpio, gpiod, firmata, serial): two lights as
 * EN 81-28 pictograms, and a buzzer. A driver is told the whole light pattern each time and owns
 * blinking; it never throws for a hardware fault (it logs, and the alarm path goes on).
 */
export type LightMode = "off" | "on" | "blink";

export interface LightPattern {
  /** Yellow: alarm sent / registered; blinking: fault, this kiosk cannot raise an alarm. */
  readonly yellow: LightMode;
  /** Green: voice/video connected to an operator. */
  readonly green: LightMode;
}

export const lightsEqual = (a: LightPattern, b: LightPattern): boolean => a.yellow === b.yellow && a.green === b.green;

export interface Indicator {
  readonly driver: string;
  start(): Promise<void>;
  show(pattern: LightPattern): void;
  /** Sounds the buzzer once for durationMs (a press was taken). */
  beep(durationMs: number): void;
  stop(): Promise<void>;
}

/** Blink half-period for drivers that blink in software (1 Hz). */
export const BLINK_HALF_PERIOD_MS = 500;
export const BEEP_MS = 150;

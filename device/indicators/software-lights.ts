/**
 * Light pattern, software blinking and the buzzer's beep for drivers that can only set lines on and
 * off (gpio, gpiod): it says which level each output should have now and calls onChange when that
 * may have changed. A blinking light starts lit and toggles every BLINK_HALF_PERIOD_MS; the timer
 * runs only while something blinks and the driver is started.
 */
import { BLINK_HALF_PERIOD_MS, lightsEqual, type LightMode, type LightPattern } from "./indicator.js";

export type Output = "yellow" | "green" | "buzzer";
export type Level = 0 | 1;

const OFF: LightPattern = { yellow: "off", green: "off" };
const blinks = (p: LightPattern): boolean => p.yellow === "blink" || p.green === "blink";

export class SoftwareLights {
  private pattern: LightPattern = OFF;
  private blinkOn = true;
  private buzzing = false;
  private running = false;
  private blinkTimer: NodeJS.Timeout | undefined;
  private beepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly onChange: () => void) {}

  /** The level of each output now. */
  levels(): Record<Output, Level> {
    const level = (mode: LightMode): Level => (mode === "on" || (mode === "blink" && this.blinkOn) ? 1 : 0);
    return { yellow: level(this.pattern.yellow), green: level(this.pattern.green), buzzer: this.buzzing ? 1 : 0 };
  }

  /** Starts blinking if the pattern asks for it (the driver's lines are ready). */
  start(): void {
    this.running = true;
    this.syncBlinkTimer();
  }

  /** Stops the timers; the buzzer falls silent, the pattern is kept for the next start. */
  stop(): void {
    this.running = false;
    this.buzzing = false;
    clearTimeout(this.beepTimer);
    this.syncBlinkTimer();
  }

  show(pattern: LightPattern): void {
    if (lightsEqual(pattern, this.pattern)) return; // the same pattern again keeps the blink phase
    this.pattern = { yellow: pattern.yellow, green: pattern.green };
    this.syncBlinkTimer();
    this.onChange();
  }

  beep(durationMs: number): void {
    this.buzzing = true;
    this.onChange();
    clearTimeout(this.beepTimer);
    this.beepTimer = setTimeout(() => {
      this.buzzing = false;
      this.onChange();
    }, durationMs);
  }

  private syncBlinkTimer(): void {
    const wanted = this.running && blinks(this.pattern);
    if (wanted && this.blinkTimer === undefined) {
      this.blinkOn = true;
      this.blinkTimer = setInterval(() => {
        this.blinkOn = !this.blinkOn;
        this.onChange();
      }, BLINK_HALF_PERIOD_MS);
    } else if (!wanted && this.blinkTimer !== undefined) {
      clearInterval(this.blinkTimer);
      this.blinkTimer = undefined;
      this.blinkOn = true;
    }
  }
}

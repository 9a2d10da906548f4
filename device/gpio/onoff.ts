/**
 * The part of onoff's Gpio class the gpio drivers use, so tests pass a fake class and only kiosks
 * configured for sysfs GPIO load onoff (and its native epoll addon), through loadOnoffGpio().
 *
 * onoff always works under /sys/class/gpio (its path is fixed); the drivers' sysfsRoot is only
 * where they read the chip bases.
 */
export type Bit = 0 | 1;
export type GpioDirection = "in" | "out" | "high" | "low";
export type GpioEdge = "none" | "rising" | "falling" | "both";

export interface GpioLineOptions {
  /** onoff debounces watch() callbacks by this many ms (0 = off). */
  readonly debounceTimeout?: number;
  /** The kernel inverts the line: readSync()/writeSync() then use the active (logical) level. */
  readonly activeLow?: boolean;
}

export type GpioWatchCallback = (err: Error | null | undefined, value: Bit) => void;

export interface GpioLine {
  readSync(): Bit;
  writeSync(value: Bit): void;
  watch(callback: GpioWatchCallback): void;
  unwatchAll(): void;
  unexport(): void;
}

/** new Gpio(gpio, direction, edge, options): exports the line and configures it (onoff 6). */
export type GpioClass = new (gpio: number, direction: GpioDirection, edge?: GpioEdge, options?: GpioLineOptions) => GpioLine;

/** Loads onoff's Gpio class; only called when a gpio driver is configured. */
export async function loadOnoffGpio(): Promise<GpioClass> {
  const onoff = await import("onoff");
  return onoff.Gpio;
}

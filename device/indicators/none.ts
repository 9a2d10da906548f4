import type { Logger } from "pino";
import type { Indicator, LightPattern } from "./indicator.js";

/** No lights (a laptop, the demo): the state is logged instead. */
export class LogIndicator implements Indicator {
  readonly driver = "none";

  constructor(private readonly log: Logger) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  show(pattern: LightPattern): void {
    this.log.info({ yellow: pattern.yellow, green: pattern.green }, "indicator");
  }

  beep(durationMs: number): void {
    this.log.debug({ durationMs }, "buzzer beep");
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

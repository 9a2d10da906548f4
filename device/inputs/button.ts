import type { EventEmitter } from "node:events";

export interface ButtonEvent {
  readonly at: Date;
}

export interface ButtonEvents {
  press: [ButtonEvent];
  release: [ButtonEvent];
  error: [Error];
}

/**
 * The port every button driver implements (stdin now; GPIO, gpiod, Firmata and serial later).
 * A driver emits `press` when the contact closes and `release` when it opens; it never throws
 * from start() for a transient hardware fault, it emits `error` and keeps trying.
 */
export interface ButtonInput extends EventEmitter<ButtonEvents> {
  readonly driver: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

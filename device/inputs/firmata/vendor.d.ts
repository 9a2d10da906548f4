/**
 * The parts of johnny-five 2.1 and firmata-io 2.3 this driver uses (neither ships types).
 * Both are CommonJS: import the default export (module.exports).
 */
declare module "johnny-five" {
  import type { EventEmitter } from "node:events";

  export interface BoardOptions {
    /** An IO plugin instance (firmata-io's Firmata, or mock-firmata in tests). */
    readonly io: unknown;
    readonly id?: string;
    /** Both default to true: a REPL on stdin and coloured console.log lines. */
    readonly repl?: boolean;
    readonly debug?: boolean;
    /** Default true: a process-wide SIGINT handler that calls process.reallyExit(). */
    readonly sigint?: boolean;
    /** ms between "connect" and "ready" before the board emits error (default 10 000). */
    readonly timeout?: number;
  }
  export interface Board extends EventEmitter {
    readonly isReady: boolean;
    readonly id: string;
  }
  export interface ButtonOptions {
    readonly pin: number | string;
    readonly board?: Board;
    /** Internal pull-up on; "down" is then a LOW pin (button between pin and GND). */
    readonly isPullup?: boolean;
    /** ms a press must last before "hold" events (default 500). */
    readonly holdtime?: number;
    readonly invert?: boolean;
  }
  /** Emits "down"/"press", "up"/"release", "hold". */
  export interface Button extends EventEmitter {
    readonly isDown: boolean;
  }
  export interface SwitchOptions {
    readonly pin: number | string;
    readonly board?: Board;
    /** "NO" (default) enables the pull-up: closed = pin pulled to GND. */
    readonly type?: "NO" | "NC";
  }
  /** Emits "open" and "close" on every reading of its pin, not only on changes. */
  export interface Switch extends EventEmitter {
    readonly isOpen: boolean;
    readonly isClosed: boolean;
  }
  export interface LedOptions {
    readonly pin: number | string;
    readonly board?: Board;
  }
  export interface Led {
    on(): this;
    off(): this;
    /** Toggles every `ms` until stop(). */
    blink(ms?: number): this;
    stop(): this;
    readonly isOn: boolean;
  }

  const five: {
  readonly Board: new (options: BoardOptions) => Board;
  readonly Button: new (options: ButtonOptions) => Button;
  readonly Switch: new (options: SwitchOptions) => Switch;
  readonly Led: new (options: LedOptions) => Led;
  };
  export default five;
}

declare module "firmata-io" {
  import type { EventEmitter } from "node:events";
  import type { Duplex } from "node:stream";

  export interface FirmataOptions {
    /** ms to wait for REPORT_VERSION before asking for it (default 5 000). */
    readonly reportVersionTimeout?: number;
    readonly skipCapabilities?: boolean;
    readonly samplingInterval?: number;
  }
  /** Emits "connect"/"open", "ready", "close", "disconnect", "error". */
  export interface Firmata extends EventEmitter {
    readonly isReady: boolean;
    readonly firmware: { readonly name?: string; readonly version?: { readonly major: number; readonly minor: number } };
  }
  type FirmataClass = new (transport: Duplex, options?: FirmataOptions) => Firmata;

  /** Binds a transport class; with a transport instance use `.Firmata` directly. */
  const firmataIo: ((transport: unknown) => FirmataClass) & { readonly Firmata: FirmataClass };
  export default firmataIo;
}

import { EventEmitter } from "node:events";
import { createInterface, type Interface } from "node:readline";
import type { Readable } from "node:stream";
import type { Clock } from "../../shared/clock.js";
import type { ButtonEvents, ButtonInput } from "./button.js";

/**
 * A button on a text stream, for laptops, the demo and tests: each line `press` is one press
 * (and release); with `enterIsPress`, an empty line (the Enter key) is one too.
 */
export class StdinButton extends EventEmitter<ButtonEvents> implements ButtonInput {
  readonly driver = "stdin";
  private rl: Interface | undefined;

  constructor(
    private readonly input: Readable,
    private readonly clock: Clock,
    private readonly options: { enterIsPress: boolean },
  ) {
    super();
  }

  start(): Promise<void> {
    this.rl = createInterface({ input: this.input, crlfDelay: Number.POSITIVE_INFINITY });
    this.rl.on("line", (line) => {
      const word = line.trim().toLowerCase();
      if (word === "press" || (word === "" && this.options.enterIsPress)) {
        const at = this.clock.now();
        this.emit("press", { at });
        this.emit("release", { at });
      }
    });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.rl?.close();
    this.rl = undefined;
    return Promise.resolve();
  }
}

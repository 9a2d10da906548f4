import { EventEmitter } from "node:events";
import { createInterface, type Interface } from "node:readline";
import type { Readable } from "node:stream";
import type { Clock } from "../../shared/clock.js";
import type { ButtonEvents, ButtonInput } from "./button.js";

/** How long a `press` line holds the contact: longer than any debounce, short as a tap. */
const TAP_MS = 100;

/**
 * A button on a text stream, for laptops, the demo and technicians: each line `press` is one press
 * (held for a tenth of a second, like a finger); `hold N` holds it for N seconds (try `hold 31` for
 * the bypass); `down` and `up` move the contact by hand. With `enterIsPress`, an empty line (the
 * Enter key) is a press too.
 */
export class StdinButton extends EventEmitter<ButtonEvents> implements ButtonInput {
  readonly driver = "stdin";
  private rl: Interface | undefined;
  private readonly releases = new Set<NodeJS.Timeout>();
  private hinted = false;

  constructor(
    private readonly input: Readable,
    private readonly clock: Clock,
    private readonly options: { enterIsPress: boolean; unknown?: (hint: string) => void },
  ) {
    super();
  }

  start(): Promise<void> {
    if (this.rl !== undefined) return Promise.resolve();
    this.rl = createInterface({ input: this.input, crlfDelay: Number.POSITIVE_INFINITY });
    this.rl.on("line", (line) => {
      const [word = "", arg] = line.trim().toLowerCase().split(/\s+/);
      if (word === "press" || (word === "" && this.options.enterIsPress)) this.hold(TAP_MS);
      else if (word === "hold" && arg !== undefined && Number(arg) > 0) this.hold(Number(arg) * 1_000);
      else if (word === "down") this.emit("press", { at: this.clock.now() });
      else if (word === "up") this.emit("release", { at: this.clock.now() });
      else if (!this.hinted) {
        // A technician typing Enter (or anything else) that does nothing hears why, once.
        this.hinted = true;
        this.options.unknown?.(
          word === "" ? "Enter alone is not a press on this kiosk: type 'press' and Enter, or start it with --enter-is-press" : `'${line.trim().slice(0, 40)}' is not a button command: type 'press', 'hold N', 'down' or 'up'`,
        );
      }
    });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.rl?.close();
    this.rl = undefined;
    for (const timer of this.releases) clearTimeout(timer);
    this.releases.clear();
    return Promise.resolve();
  }

  private hold(ms: number): void {
    this.emit("press", { at: this.clock.now() });
    const timer = setTimeout(() => {
      this.releases.delete(timer);
      this.emit("release", { at: this.clock.now() });
    }, ms);
    this.releases.add(timer);
  }
}

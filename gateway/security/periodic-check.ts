/**
 * A check run at start (by the caller) and then every `everyMs`, one at a time: a check asked for
 * while one runs joins it. The timer does not keep the process alive. Used by the kiosk and the
 * server certificate renewals.
 */
export class PeriodicCheck<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly everyMs: number,
  ) {}

  /** Runs the check now (or joins the one under way). */
  check(): Promise<T> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Checks on the timer from now on. */
  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

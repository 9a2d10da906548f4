/**
 * The link's liveness probe. A connection to a node that died silently (power cut, cable, a frozen
 * machine) stays open with nothing arriving; TCP would not say so for many minutes. So the link sends
 * a PINGREQ at most `intervalMs` after the last one (a heartbeat carries one too: `pinged()`), and
 * gives the link up when its oldest unanswered ping has waited `timeoutMs` with nothing at all heard
 * from the gateway: a dead node is noticed within intervalMs + timeoutMs (10 s by default).
 */
export interface PingProbeOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export class PingProbe {
  private lastHeardAt = 0;
  private lastPingAt = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: PingProbeOptions,
    /** Sends one PINGREQ. */
    private readonly ping: () => void,
    /** The gateway did not answer: give the link up. */
    private readonly dead: (waitedMs: number) => void,
    /** A monotonic clock (ms): immune to the wall clock being set. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The link is up: the first probe goes out intervalMs from now. */
  start(): void {
    this.stop();
    this.lastHeardAt = this.now();
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.probeTimer);
    clearTimeout(this.deadline);
    this.probeTimer = undefined;
    this.deadline = undefined;
  }

  /** A packet arrived from the gateway. */
  heard(): void {
    this.lastHeardAt = this.now();
  }

  /** A PINGREQ was sent (by the probe, or with a heartbeat): the next probe is due intervalMs later. */
  pinged(): void {
    this.lastPingAt = this.now();
    this.schedule();
    // A deadline already running belongs to an older unanswered ping: it is not pushed back.
    if (this.deadline === undefined) this.arm(this.lastPingAt);
  }

  private schedule(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.ping();
      this.pinged();
    }, this.options.intervalMs);
  }

  private arm(sentAt: number): void {
    this.deadline = setTimeout(
      () => {
        this.deadline = undefined;
        if (this.lastHeardAt < sentAt) {
          this.stop();
          this.dead(this.now() - sentAt);
        } else if (this.lastHeardAt < this.lastPingAt) this.arm(this.lastPingAt); // a later ping is still out
      },
      Math.max(0, sentAt + this.options.timeoutMs - this.now()),
    );
  }
}

/**
 * Whether dispatch is reachable, from its circuit (gateway/outbox/circuit.ts): failing from its
 * first failure, unreachable once that lasts `unreachableAfterMs`, which is reported once
 * ("dispatch.unreachable": an ops event, the console's banner), and "dispatch.restored" when it
 * answers again. Read by /readyz and the metrics.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { CircuitChange } from "../outbox/forwarder.js";

export interface DispatchStatus {
  /** ok: answering; failing: its circuit is open, not for long yet; unreachable: open for unreachableAfterMs or more. */
  readonly state: "ok" | "failing" | "unreachable";
  readonly since: string | null;
  readonly lastError: string | null;
  /** Seconds since the first failure of this outage (0 when ok). */
  readonly failingSeconds: number;
}

export class DispatchReachability {
  private open: { since: Date; lastError: string } | null = null;
  private reported = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly unreachableAfterMs: number,
    private readonly bus: EventBus<GatewayEvents>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The forwarder's circuit hook. */
  onCircuit(change: CircuitChange): void {
    if (change.state === "open") {
      this.open = { since: change.since, lastError: change.lastError };
      clearTimeout(this.timer);
      const inMs = change.since.getTime() + this.unreachableAfterMs - this.clock.now().getTime();
      this.timer = setTimeout(() => this.report(), Math.max(0, inMs));
      return;
    }
    clearTimeout(this.timer);
    const wasReported = this.reported;
    this.open = null;
    this.reported = false;
    if (!wasReported) return;
    const downMs = change.at.getTime() - change.since.getTime();
    this.log.warn({ since: change.since.toISOString(), downMs, lastError: change.lastError }, "dispatch reachable again");
    this.bus.emit("dispatch.restored", { since: change.since.toISOString(), at: change.at.toISOString(), downMs, lastError: change.lastError });
  }

  /** A failed attempt's error: the latest is the one reported while the circuit is open. */
  noteError(error: string): void {
    if (this.open !== null) this.open.lastError = error;
  }

  status(): DispatchStatus {
    const open = this.open;
    if (open === null) return { state: "ok", since: null, lastError: null, failingSeconds: 0 };
    const failingSeconds = Math.max(0, (this.clock.now().getTime() - open.since.getTime()) / 1_000);
    return { state: this.reported ? "unreachable" : "failing", since: open.since.toISOString(), lastError: open.lastError, failingSeconds };
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private report(): void {
    const open = this.open;
    if (open === null || this.reported) return;
    this.reported = true;
    const at = this.clock.now();
    this.log.error(
      { since: open.since.toISOString(), failingMs: at.getTime() - open.since.getTime(), lastError: open.lastError },
      "dispatch unreachable: alerts are kept and sent once it answers",
    );
    this.bus.emit("dispatch.unreachable", { since: open.since.toISOString(), at: at.toISOString(), lastError: open.lastError });
  }
}

/**
 * Sends the heartbeat: once as soon as the link comes up, then every intervalMs while it stays up;
 * nothing while it is down (QoS 0: a heartbeat is news, not worth a queue). `seq` grows by one with
 * every heartbeat gathered since the agent started. A heartbeat still being gathered when the next
 * is due is not doubled. Failures are logged once per streak and never reach the alert path.
 */
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { Heartbeat } from "../../shared/health.js";
import type { KioskEvents } from "../events.js";

export type HeartbeatPublisher = (heartbeat: Heartbeat) => Promise<void>;

export interface HeartbeatDeps {
  readonly bus: EventBus<KioskEvents>;
  readonly intervalMs: number;
  readonly gather: (seq: number) => Promise<Heartbeat>;
  readonly log: Logger;
}

export class HeartbeatSender {
  private publish: HeartbeatPublisher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private up = false;
  private busy = false;
  private stopped = false;
  private failing = false;
  private seq = 0;
  private readonly unsubscribe: (() => void)[];
  /** Heartbeats handed to the link since start. */
  sent = 0;

  constructor(private readonly deps: HeartbeatDeps) {
    this.unsubscribe = [deps.bus.on("link.up", "heartbeat", () => this.onUp()), deps.bus.on("link.down", "heartbeat", () => this.onDown())];
  }

  /** The link's publish function, once the link is wired (the link may come up only after this). */
  attach(publish: HeartbeatPublisher): void {
    this.publish = publish;
    if (this.up) this.beat();
  }

  get lastSeq(): number {
    return this.seq;
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe) off();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private onUp(): void {
    if (this.stopped) return;
    this.up = true;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.beat(), this.deps.intervalMs);
    this.beat();
  }

  private onDown(): void {
    this.up = false;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const publish = this.publish;
    if (!this.up || this.stopped || this.busy || publish === undefined) return;
    this.busy = true;
    this.seq += 1;
    const seq = this.seq;
    this.deps
      .gather(seq)
      .then(async (heartbeat) => {
        if (!this.up || this.stopped) return;
        await publish(heartbeat);
        this.sent += 1;
        this.deps.bus.emit("heartbeat.sent", { seq });
        if (this.failing) this.deps.log.info({ seq }, "heartbeats are sent again");
        this.failing = false;
        this.deps.log.debug({ seq, faults: heartbeat.faults, outboxDepth: heartbeat.outboxDepth }, "heartbeat sent");
      })
      .catch((err: unknown) => {
        const level = this.failing ? "debug" : "warn";
        this.failing = true;
        this.deps.log[level]({ err, seq }, "heartbeat not sent");
      })
      .finally(() => {
        this.busy = false;
      });
  }
}

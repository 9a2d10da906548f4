/**
 * The call feature's way out: call/up messages and the press snapshot, over whatever link is
 * attached. Nothing here throws or waits for the network: a message that cannot go is logged (the
 * call times out or the ring repeats), and the snapshot is kept until the broker has taken it.
 */
import type { Logger } from "pino";
import type { CallUp, Snapshot } from "../../shared/call.js";

/** The part of the MQTT link the call feature uses. */
export interface CallLink {
  readonly isUp: boolean;
  publishCallUp(msg: CallUp): Promise<void>;
  publishSnapshot(snapshot: Snapshot): Promise<void>;
}

export class CallChannel {
  private link: CallLink | undefined;
  /** The latest alarm's still, until the broker has taken it. */
  private snapshot: Snapshot | null = null;
  private sendingSnapshot = false;

  constructor(private readonly log: Logger) {}

  attach(link: CallLink): void {
    this.link = link;
  }

  get isUp(): boolean {
    return this.link?.isUp ?? false;
  }

  /** Publishes on call/up; resolves once sent or given up (never rejects). */
  send(msg: CallUp): Promise<void> {
    const link = this.link;
    const fields = { type: msg.type, callId: msg.callId };
    if (link === undefined || !link.isUp) {
      this.log.debug(fields, "call message not sent: link down");
      return Promise.resolve();
    }
    return link.publishCallUp(msg).then(
      () => this.log.debug(fields, "call message sent"),
      (err: unknown) => this.log.warn({ ...fields, err: { message: (err as Error).message } }, "call message not sent"),
    );
  }

  /** Sends the still now if the link is up, else on the next flush (the link came back). */
  sendSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.flush();
  }

  flush(): void {
    const link = this.link;
    const snapshot = this.snapshot;
    if (link === undefined || snapshot === null || this.sendingSnapshot || !link.isUp) return;
    this.sendingSnapshot = true;
    link.publishSnapshot(snapshot).then(
      () => {
        this.sendingSnapshot = false;
        if (this.snapshot === snapshot) this.snapshot = null;
        this.log.info({ alertId: snapshot.alertId }, "snapshot sent");
        this.flush(); // a newer alarm's still may be waiting behind this one
      },
      (err: unknown) => {
        this.sendingSnapshot = false;
        this.log.warn({ alertId: snapshot.alertId, err: { message: (err as Error).message } }, "snapshot not sent; sent again when the link is back");
      },
    );
  }
}

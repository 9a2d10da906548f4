/**
 * Gets every alert in the outbox to the gateway: publishes on press, again after every reconnect,
 * and again with backoff while no application ack arrives. Only the gateway's ack (status ok,
 * meaning "stored durably") removes an alert from the outbox.
 */
import type { Logger } from "pino";
import { Backoff } from "../../shared/backoff.js";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { Ack, Alert } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { KioskEvents } from "../events.js";
import type { Outbox } from "./outbox.js";

export interface AlertPublisher {
  readonly isUp: boolean;
  publishAlert(alert: Alert): Promise<void>;
}

interface Resend {
  readonly timer: NodeJS.Timeout | undefined;
  readonly backoff: Backoff;
}

export class AlertDelivery {
  private readonly resends = new Map<string, Resend>();
  private stopped = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly link: AlertPublisher,
    private readonly policy: KioskConfig["alerts"],
    private readonly bus: EventBus<KioskEvents>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** A new alert: send it now if the link is up; it is sent on the next connect otherwise. */
  submit(alert: Alert): void {
    if (this.link.isUp) this.publish(alert);
  }

  /** The link came up: send everything still unacknowledged, oldest first. */
  onLinkUp(): void {
    const pending = this.outbox.pending();
    if (pending.length > 0) this.log.info({ count: pending.length }, "sending unacknowledged alerts");
    for (const alert of pending) this.publish(alert);
  }

  onAck(ack: Ack): void {
    const entry = this.outbox.get(ack.alertId);
    if (ack.status === "error") {
      this.log.error(
        { alertId: ack.alertId, code: ack.error.code, reason: ack.error.message },
        "gateway refused the alert: kept in the outbox and retried; report this to the gateway team",
      );
      this.outbox.markRefused(ack.alertId);
      this.bus.emit("alert.refused", { alertId: ack.alertId, code: ack.error.code, reason: ack.error.message });
      return;
    }
    if (entry === undefined) return; // a late duplicate ack
    if ((entry.alert.pressCount ?? 1) > (ack.data.pressCount ?? 1)) {
      // The ack is for an older version of this alarm: the newer press count still has to go.
      this.publish(entry.alert);
      return;
    }
    this.clearResend(ack.alertId);
    this.outbox.remove(ack.alertId);
    const latencyMs = this.clock.now().getTime() - Date.parse(entry.alert.pressedAt);
    this.log.info({ alertId: ack.alertId, duplicate: ack.data.duplicate, latencyMs, outboxDepth: this.outbox.depth }, "alert acknowledged by gateway");
    this.bus.emit("alert.acked", { alertId: ack.alertId, receivedAt: ack.data.receivedAt, duplicate: ack.data.duplicate, latencyMs });
  }

  stop(): void {
    this.stopped = true;
    for (const alertId of [...this.resends.keys()]) this.clearResend(alertId);
  }

  private publish(alert: Alert): void {
    if (this.stopped) return;
    const entry = this.outbox.get(alert.alertId);
    if (entry === undefined) return;
    entry.publishes += 1;
    const attempt = entry.publishes;
    this.armResend(alert);
    this.link.publishAlert(alert).then(
      () => {
        this.log.debug({ alertId: alert.alertId, attempt }, "alert published");
        this.bus.emit("alert.published", { alertId: alert.alertId, attempt });
      },
      (err: unknown) => {
        // mqtt.js can fail publishes made while it replays its store (mqttjs/MQTT.js#2015):
        // the alert stays in the outbox and the resend timer or the next connect sends it.
        this.log.warn({ alertId: alert.alertId, attempt, err: { message: (err as Error).message } }, "alert publish failed; will retry");
      },
    );
  }

  /** Without an ack within ackTimeoutMs, send again; then back off between tries. */
  private armResend(alert: Alert): void {
    const existing = this.resends.get(alert.alertId);
    const backoff = existing?.backoff ?? new Backoff(this.policy.resend);
    if (existing !== undefined) clearTimeout(existing.timer);
    const delayMs = existing === undefined ? this.policy.ackTimeoutMs : backoff.next();
    const timer = setTimeout(() => {
      if (this.outbox.get(alert.alertId) === undefined) return this.clearResend(alert.alertId);
      if (this.link.isUp) {
        if (this.outbox.isRefused(alert.alertId)) this.log.warn({ alertId: alert.alertId, waitedMs: delayMs }, "sending an alert the gateway refused again");
        else this.log.warn({ alertId: alert.alertId, waitedMs: delayMs }, "no ack from gateway yet: sending the alert again");
        this.publish(alert);
      } else {
        // onLinkUp sends it; keep the backoff state for the try after that
        this.resends.set(alert.alertId, { timer: undefined, backoff });
      }
    }, delayMs);
    this.resends.set(alert.alertId, { timer, backoff });
  }

  private clearResend(alertId: string): void {
    const resend = this.resends.get(alertId);
    if (resend !== undefined) clearTimeout(resend.timer);
    this.resends.delete(alertId);
  }
}

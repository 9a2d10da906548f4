/**
 * The alert pipeline: validate → dedupe by alertId → store durably (alert and dispatch job in one
 * transaction) → ack to the kiosk → wake the dispatch forwarder. The kiosk id comes from the
 * authenticated connection, never from the payload: kiosk A's alert can never be taken as B's.
 * A bad message is rejected with a reason, logged, kept for forensics, and answered with a NAK
 * when its alertId can be read; the kiosk keeps it and nothing is lost.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { type Ack, type Alert, alertSchema, describeZodError } from "../../shared/contract.js";
import { ErrorCode } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import { type DispatchBodyFormat, dispatchFormat, type HealthAtPress } from "../dispatch/format.js";
import type { GatewayEvents } from "../events.js";
import type { Claim, DispatchJob, GatewayStore } from "../store/store.js";
import { RejectionSampler } from "./rejections.js";

export interface PipelineOptions {
  readonly maxPayloadBytes: number;
  readonly agency: string;
  /** The snapshot link written into the dispatch body, when known. */
  readonly snapshotUrl?: (alertId: string) => string | undefined;
  /** The dispatch body's format (default flat: sos.dispatch.alert/v1). */
  readonly format?: DispatchBodyFormat;
  /** The gateway's supervision view of the kiosk, for the EIDO's health note. */
  readonly health?: (kioskId: string) => HealthAtPress | undefined;
  /** The dispatch forwarder (none without a dispatch URL): a new alert's job is stored claimed for it and handed over. */
  readonly dispatch?: DispatchHandoff;
}

/** What the pipeline needs of the dispatch forwarder (dispatch/forwarder.ts). */
export interface DispatchHandoff {
  claimForNew(): Claim | undefined;
  /** After the alert is stored: its job when it was stored claimed, else undefined. */
  stored(job: DispatchJob | undefined): void;
}

/** How an alert reached the gateway: the kiosk's MQTT link, or the SMS fallback (docs/fallback.md). */
export type AlertChannel = "mqtt" | "sms";

type Checked = { ok: true; alert: Alert } | { ok: false; code: string; reason: string; alertId: string | null };

const EXCERPT_BYTES = 512;

function readAlertId(json: unknown): string | null {
  if (json !== null && typeof json === "object" && "alertId" in json) {
    const id = (json).alertId;
    if (typeof id === "string" && id.length > 0 && id.length <= 64) return id;
  }
  return null;
}

export class AlertPipeline {
  private readonly sampler = new RejectionSampler();

  constructor(
    private readonly store: GatewayStore,
    private readonly sendAck: (kioskId: string, ack: Ack) => Promise<void>,
    private readonly options: PipelineOptions,
    private readonly bus: EventBus<GatewayEvents>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Handles one message on `sos/v1/kiosks/{kioskId}/alerts` from the kiosk authenticated as kioskId. */
  async handle(kioskId: string, topic: string, payload: Buffer): Promise<void> {
    const receivedAt = this.clock.now();
    const checked = this.check(kioskId, payload);
    if (!checked.ok) {
      await this.reject(kioskId, topic, payload, receivedAt, checked.code, checked.reason, checked.alertId);
      return;
    }
    await this.accept(kioskId, checked.alert, receivedAt, "mqtt", topic, payload, (ack) => this.sendAck(kioskId, ack));
  }

  /**
   * An alert that arrived another way (an SMS, docs/fallback.md), already checked by its receiver:
   * the same dedupe by alertId, store, dispatch and console, marked with its channel; the answer
   * goes back through `reply` (an SMS). A later copy over MQTT is a duplicate, and the other way round.
   */
  async handleAlert(kioskId: string, alert: Alert, channel: AlertChannel, raw: { topic: string; payload: Buffer }, reply: (ack: Ack) => Promise<void>): Promise<void> {
    await this.accept(kioskId, alert, this.clock.now(), channel, raw.topic, raw.payload, reply);
  }

  private async accept(kioskId: string, alert: Alert, receivedAt: Date, channel: AlertChannel, topic: string, payload: Buffer, reply: (ack: Ack) => Promise<void>): Promise<void> {
    const kiosk = await this.store.getKiosk(kioskId);
    const format = this.options.format ?? dispatchFormat("flat");
    const body = format.alertBody({
      alert,
      kiosk,
      receivedAt,
      agency: this.options.agency,
      snapshotUrl: this.options.snapshotUrl?.(alert.alertId),
      health: this.options.health?.(kioskId),
      channel,
    });
    const dispatch = this.options.dispatch;
    // Stored claimed by this gateway's forwarder and handed to it: sent without a claim query of its own.
    const result = await this.store.recordAlert(alert, receivedAt, body, dispatch?.claimForNew());
    const log = this.log.child({ kioskId, alertId: alert.alertId });
    switch (result.outcome) {
      case "stored":
        dispatch?.stored(result.job);
        log.info({ kind: alert.kind, pressedAt: alert.pressedAt, channel }, "alert stored");
        this.bus.emit("alert.stored", { alertId: alert.alertId, kioskId, kind: alert.kind, pressedAt: alert.pressedAt, receivedAt: result.receivedAt, channel });
        await this.ack(reply, kioskId, { v: 1, alertId: alert.alertId, status: "ok", data: { receivedAt: result.receivedAt, duplicate: false, pressCount: result.pressCount } });
        return;
      case "duplicate":
        if (result.updated) {
          log.info({ pressCount: result.pressCount }, "press count updated on an open alarm");
          this.bus.emit("alert.presses", { alertId: alert.alertId, kioskId, pressCount: result.pressCount });
        } else log.info({ channel }, "duplicate alert: acknowledged again, not forwarded again");
        await this.ack(reply, kioskId, { v: 1, alertId: alert.alertId, status: "ok", data: { receivedAt: result.receivedAt, duplicate: true, pressCount: result.pressCount } });
        this.bus.emit("alert.duplicate", { alertId: alert.alertId, kioskId });
        return;
      case "conflict":
        await this.reject(
          kioskId,
          topic,
          payload,
          receivedAt,
          ErrorCode.AlertIdConflict,
          `alertId ${alert.alertId} already belongs to kiosk ${result.ownerKioskId}: generate a new alertId`,
          alert.alertId,
          reply,
          // The kiosk is not told whose it is: a stolen kiosk must not learn other kiosks' ids this way.
          `alertId ${alert.alertId} already belongs to another kiosk's alert: generate a new alertId`,
        );
        return;
    }
  }

  private check(kioskId: string, payload: Buffer): Checked {
    if (payload.length > this.options.maxPayloadBytes) {
      return {
        ok: false,
        code: ErrorCode.PayloadTooLarge,
        reason: `payload is ${payload.length} bytes, over the ${this.options.maxPayloadBytes}-byte limit for alerts`,
        alertId: null,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      return { ok: false, code: ErrorCode.PayloadNotJson, reason: "payload is not JSON: send the alert as a UTF-8 JSON object", alertId: null };
    }
    const alertId = readAlertId(json);
    const parsed = alertSchema.safeParse(json);
    if (!parsed.success) {
      return { ok: false, code: ErrorCode.PayloadInvalid, reason: `payload does not match the alert schema: ${describeZodError(parsed.error)}`, alertId };
    }
    if (parsed.data.kioskId !== kioskId) {
      return {
        ok: false,
        code: ErrorCode.KioskMismatch,
        reason: `payload names kiosk ${parsed.data.kioskId} but the connection is authenticated as ${kioskId}`,
        alertId,
      };
    }
    return { ok: true, alert: parsed.data };
  }

  private async reject(
    kioskId: string,
    topic: string,
    payload: Buffer,
    receivedAt: Date,
    code: string,
    reason: string,
    alertId: string | null,
    reply: (ack: Ack) => Promise<void> = (ack) => this.sendAck(kioskId, ack),
    /** What the kiosk is told, when it must be told less than the log and the record say. */
    answer = reason,
  ): Promise<void> {
    const verdict = this.sampler.admit(kioskId, receivedAt.getTime());
    if (verdict.record) {
      this.log.warn({ kioskId, topic, alertId, code, reason, bytes: payload.length }, "alert rejected");
      await this.store.recordRejected({
        kioskId,
        topic,
        receivedAt: receivedAt.toISOString(),
        code,
        reason,
        excerpt: payload.subarray(0, EXCERPT_BYTES).toString("utf8"),
      });
    } else if (verdict.logNow) {
      this.log.warn({ kioskId, topic, code, reason }, "kiosk sends bad alerts too fast: further rejections this minute are counted, not recorded");
    }
    this.bus.emit("alert.rejected", { kioskId, topic, code, reason });
    if (alertId !== null) await this.ack(reply, kioskId, { v: 1, alertId, status: "error", error: { code, message: answer } });
  }

  private async ack(reply: (ack: Ack) => Promise<void>, kioskId: string, ack: Ack): Promise<void> {
    try {
      await reply(ack);
    } catch (err) {
      // The kiosk resends unacknowledged alerts; the duplicate gets a fresh ack.
      this.log.warn({ err, kioskId, alertId: ack.alertId }, "ack could not be published; the kiosk will resend");
    }
  }
}

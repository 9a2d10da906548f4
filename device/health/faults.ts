/**
 * The reasons this kiosk cannot raise an alarm right now. "no-gateway" is set when the gateway has
 * been unreachable for longer than the threshold (from start, or since the link dropped); a stuck
 * button found by the self-test is another. Every change is announced as `fault.changed` (the
 * lights show out-of-order).
 *
 * Degraded parts (a black camera, a silent speaker: "selftest:camera", "selftest:audio") are kept
 * apart: the kiosk still raises alarms, so they are reported (heartbeat) but change no lights.
 * "alerts-refused" is one of them: an alert the gateway refused (say, written under another kiosk id
 * before a re-provisioning) is retried from the outbox while operations are told through the
 * heartbeat; it clears when every refused alert has been acknowledged after all.
 *
 * "outbox:not-durable" while the last press could not be written to disk (it is held in memory and
 * sent); "outbox:damaged-entries" when the outbox held files it could not read at start (moved to
 * outbox/corrupt for a technician: presses that may never have reached the gateway).
 *
 * "config:mqtt" is set at start when kiosk.json's mqtt section is invalid: the link is not started,
 * so no alarm can reach the gateway until the file is fixed and the agent restarted.
 *
 * Features that find a part degraded say so with `part.degraded` ("update:state-unreadable": a new
 * release would run with no health gate and no rollback).
 *
 * "button:not-working" while the button driver cannot read the button (health/button-fault.ts);
 * "indicator:not-working" (degraded) when the lights' driver could not be made or started.
 */
import type { EventBus } from "../../shared/events.js";
import type { KioskEvents } from "../events.js";

export const ALERTS_REFUSED = "alerts-refused";
/** A press could not be written to the outbox (full or read-only card): held in memory only until a write succeeds. */
export const OUTBOX_NOT_DURABLE = "outbox:not-durable";
/** Outbox files found damaged at start (moved to outbox/corrupt): alerts that may never have reached the gateway. */
export const OUTBOX_DAMAGED = "outbox:damaged-entries";
/** kiosk.json's mqtt section is invalid: the link to the gateway is off (device/main.ts). */
export const MQTT_CONFIG_INVALID = "config:mqtt";
/** The update state cannot be read (say, root's after a 'sudo sos kiosk update'): no health gate and no rollback for a new release. */
export const UPDATE_STATE_UNREADABLE = "update:state-unreadable";

export class FaultMonitor {
  private readonly faults = new Set<string>();
  private readonly refused = new Set<string>();
  private readonly degraded = new Set<string>();
  private linkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: EventBus<KioskEvents>,
    private readonly linkDownMs: number,
  ) {
    bus.on("link.up", "faults", () => {
      clearTimeout(this.linkTimer);
      this.linkTimer = undefined;
      this.set("no-gateway", false);
    });
    bus.on("link.down", "faults", () => this.armLinkTimer());
    bus.on("alert.refused", "faults", ({ alertId }) => {
      this.refused.add(alertId);
      this.setDegraded(ALERTS_REFUSED, true);
    });
    bus.on("part.degraded", "faults", ({ fault, on }) => this.setDegraded(fault, on));
    bus.on("alert.recorded", "faults", ({ durable }) => this.setDegraded(OUTBOX_NOT_DURABLE, !durable));
    bus.on("alert.acked", "faults", ({ alertId }) => {
      if (!this.refused.delete(alertId)) return;
      if (this.refused.size === 0) this.setDegraded(ALERTS_REFUSED, false);
    });
  }

  /** The link is down at start until it first comes up. */
  start(): void {
    this.armLinkTimer();
  }

  set(fault: string, on: boolean): void {
    if (on === this.faults.has(fault)) return;
    if (on) this.faults.add(fault);
    else this.faults.delete(fault);
    this.bus.emit("fault.changed", { faults: [...this.faults].sort() });
  }

  /** A part that does not work but does not stop an alarm: reported, no `fault.changed`. */
  setDegraded(fault: string, on: boolean): void {
    if (on) this.degraded.add(fault);
    else this.degraded.delete(fault);
  }

  /** The faults that stop an alarm. */
  get current(): readonly string[] {
    return [...this.faults].sort();
  }

  /** Every fault, blocking or degraded (the heartbeat's list). */
  get all(): readonly string[] {
    return [...new Set([...this.faults, ...this.degraded])].sort();
  }

  stop(): void {
    clearTimeout(this.linkTimer);
  }

  private armLinkTimer(): void {
    if (this.linkTimer !== undefined) return;
    this.linkTimer = setTimeout(() => {
      this.linkTimer = undefined;
      this.set("no-gateway", true);
    }, this.linkDownMs);
  }
}

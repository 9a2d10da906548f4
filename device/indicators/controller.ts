/**
 * Drives the lights, the buzzer and the voice prompts from the kiosk's events, following EN 81-28:
 * yellow on as soon as the alarm is raised and until the centre closes it; green while voice/video
 * is connected; a blinking yellow when the kiosk cannot raise an alarm (a fault).
 */
import type { Logger } from "pino";
import type { EventBus } from "../../shared/events.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import { BEEP_MS, type Indicator, type LightPattern, lightsEqual } from "./indicator.js";

export type AlarmPhase = "none" | "sent" | "received";

export interface IndicatorState {
  readonly alarm: AlarmPhase;
  readonly call: boolean;
  readonly faults: readonly string[];
}

/** The light pattern for a state: the alarm outranks a fault (the person must see it was sent). */
export function lightsFor(state: IndicatorState): LightPattern {
  if (state.alarm !== "none") return { yellow: "on", green: state.call ? "on" : "off" };
  if (state.faults.length > 0) return { yellow: "blink", green: "off" };
  return { yellow: "off", green: "off" };
}

export class IndicatorController {
  private state: IndicatorState;
  private shown: LightPattern | undefined;

  constructor(
    private readonly indicator: Indicator,
    private readonly player: PromptPlayer,
    bus: EventBus<KioskEvents>,
    initial: AlarmPhase,
    private readonly log: Logger,
  ) {
    this.state = { alarm: initial, call: false, faults: [] };
    bus.on("alarm.raised", "indicator", () => {
      this.indicator.beep(BEEP_MS);
      // With a fault the alarm is kept and sent later, but the person should call 102/112 now.
      this.player.play(this.state.faults.length > 0 ? "out-of-order" : "alarm-sent");
      this.update({ alarm: "sent", call: false }, "alarm raised");
    });
    bus.on("alarm.press-counted", "indicator", () => this.indicator.beep(BEEP_MS));
    bus.on("alarm.received", "indicator", () => {
      this.player.play("alarm-received");
      this.update({ alarm: "received" }, "alarm received by the centre");
    });
    bus.on("alarm.closed", "indicator", () => this.update({ alarm: "none", call: false }, "alarm closed"));
    bus.on("call.connected", "indicator", () => this.update({ call: true }, "call connected"));
    bus.on("call.ended", "indicator", () => this.update({ call: false }, "call ended"));
    bus.on("fault.changed", "indicator", ({ faults }) => this.update({ faults }, "faults changed"));
  }

  get current(): IndicatorState {
    return this.state;
  }

  /** Shows the current state (at start, and after a driver reconnects). */
  refresh(): void {
    this.shown = undefined;
    this.update({}, "start");
  }

  private update(change: Partial<IndicatorState>, reason: string): void {
    this.state = { ...this.state, ...change };
    const lights = lightsFor(this.state);
    if (this.shown !== undefined && lightsEqual(this.shown, lights)) return;
    this.shown = lights;
    this.log.info({ yellow: lights.yellow, green: lights.green, reason, faults: this.state.faults }, "indicator changed");
    this.indicator.show(lights);
  }
}

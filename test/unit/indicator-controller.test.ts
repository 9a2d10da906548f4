import { beforeEach, describe, expect, it } from "vitest";
import type { PromptName, PromptPlayer } from "../../device/audio/player.js";
import type { KioskEvents } from "../../device/events.js";
import { type AlarmPhase, IndicatorController, type IndicatorState, lightsFor } from "../../device/indicators/controller.js";
import { BEEP_MS, type Indicator, type LightPattern } from "../../device/indicators/indicator.js";
import type { Alert } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

/** The fake behind the Indicator port: records every pattern shown and every beep. */
class RecordingIndicator implements Indicator {
  readonly driver = "recording";
  readonly shown: LightPattern[] = [];
  readonly beeps: number[] = [];

  start(): Promise<void> {
    return Promise.resolve();
  }

  show(pattern: LightPattern): void {
    this.shown.push({ ...pattern });
  }

  beep(durationMs: number): void {
    this.beeps.push(durationMs);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  get last(): LightPattern | undefined {
    return this.shown.at(-1);
  }
}

/** The fake behind the PromptPlayer port: records every prompt played. */
class RecordingPlayer implements PromptPlayer {
  readonly played: PromptName[] = [];

  play(prompt: PromptName): void {
    this.played.push(prompt);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

const ALERT_ID = "00000000-0000-4000-8000-000000000001";
const alert: Alert = {
  v: 1,
  alertId: ALERT_ID,
  kioskId: "kz-hwy-0001",
  kind: "sos",
  pressedAt: "2025-01-02T03:00:00.000Z",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  trigger: "button",
  pressCount: 1,
};

const OFF: LightPattern = { yellow: "off", green: "off" };
const YELLOW: LightPattern = { yellow: "on", green: "off" };
const YELLOW_GREEN: LightPattern = { yellow: "on", green: "on" };
const BLINK: LightPattern = { yellow: "blink", green: "off" };

describe("lightsFor", () => {
  const state = (alarm: AlarmPhase, call = false, faults: string[] = []): IndicatorState => ({ alarm, call, faults });

  it("idle: all lights off", () => {
    expect(lightsFor(state("none"))).toEqual(OFF);
  });

  it("alarm sent: yellow on, green off", () => {
    expect(lightsFor(state("sent"))).toEqual(YELLOW);
  });

  it("alarm received by the centre: yellow stays on", () => {
    expect(lightsFor(state("received"))).toEqual(YELLOW);
  });

  it("operator connected during the alarm: yellow and green on", () => {
    expect(lightsFor(state("sent", true))).toEqual(YELLOW_GREEN);
    expect(lightsFor(state("received", true))).toEqual(YELLOW_GREEN);
  });

  it("fault with no alarm: yellow blinks, green off", () => {
    expect(lightsFor(state("none", false, ["no-gateway"]))).toEqual(BLINK);
    expect(lightsFor(state("none", false, ["no-gateway", "self-test"]))).toEqual(BLINK);
  });

  it("alarm raised during a fault: yellow on, not blinking (the person must see it was sent)", () => {
    expect(lightsFor(state("sent", false, ["no-gateway"]))).toEqual(YELLOW);
    expect(lightsFor(state("received", false, ["no-gateway"]))).toEqual(YELLOW);
    expect(lightsFor(state("received", true, ["no-gateway"]))).toEqual(YELLOW_GREEN);
  });
});

describe("IndicatorController", () => {
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let indicator: RecordingIndicator;
  let player: RecordingPlayer;

  beforeEach(() => {
    logs = new LogCapture();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    indicator = new RecordingIndicator();
    player = new RecordingPlayer();
  });

  const make = (initial: AlarmPhase = "none"): IndicatorController => {
    const controller = new IndicatorController(indicator, player, bus, initial, logs.logger("indicator"));
    controller.refresh();
    return controller;
  };

  it("every transition: idle → raised → received → call connected → call ended → closed", () => {
    const c = make();
    expect(indicator.shown).toEqual([OFF]);
    expect(c.current).toEqual({ alarm: "none", call: false, faults: [] });

    bus.emit("alarm.raised", { alert });
    expect(indicator.last).toEqual(YELLOW);
    expect(indicator.beeps).toEqual([BEEP_MS]);
    expect(player.played).toEqual(["alarm-sent"]);
    expect(c.current.alarm).toBe("sent");

    bus.emit("alarm.received", { alertId: ALERT_ID });
    expect(player.played).toEqual(["alarm-sent", "alarm-received"]);
    expect(indicator.last).toEqual(YELLOW);
    expect(c.current.alarm).toBe("received");

    bus.emit("call.connected", { alertId: ALERT_ID });
    expect(indicator.last).toEqual(YELLOW_GREEN);

    bus.emit("call.ended", { alertId: ALERT_ID });
    expect(indicator.last).toEqual(YELLOW);

    bus.emit("alarm.closed", { alertId: ALERT_ID, outcome: "resolved" });
    expect(indicator.last).toEqual(OFF);
    expect(c.current).toEqual({ alarm: "none", call: false, faults: [] });

    expect(indicator.shown).toEqual([OFF, YELLOW, YELLOW_GREEN, YELLOW, OFF]);
    expect(indicator.beeps).toEqual([BEEP_MS]);
    expect(player.played).toEqual(["alarm-sent", "alarm-received"]);
  });

  it("closing the alarm while the operator is still connected turns green off too", () => {
    make();
    bus.emit("alarm.raised", { alert });
    bus.emit("call.connected", { alertId: ALERT_ID });
    bus.emit("alarm.closed", { alertId: ALERT_ID, outcome: "resolved" });
    expect(indicator.last).toEqual(OFF);
  });

  it("fault.changed with a fault blinks yellow; cleared, all off", () => {
    const c = make();
    bus.emit("fault.changed", { faults: ["no-gateway"] });
    expect(indicator.last).toEqual(BLINK);
    expect(c.current.faults).toEqual(["no-gateway"]);
    bus.emit("fault.changed", { faults: [] });
    expect(indicator.last).toEqual(OFF);
    expect(indicator.shown).toEqual([OFF, BLINK, OFF]);
    expect(player.played).toEqual([]);
  });

  it("an alarm raised during a fault shows yellow on (not blink) and plays out-of-order", () => {
    make();
    bus.emit("fault.changed", { faults: ["no-gateway"] });
    bus.emit("alarm.raised", { alert });
    expect(indicator.last).toEqual(YELLOW);
    expect(player.played).toEqual(["out-of-order"]);
    expect(indicator.beeps).toEqual([BEEP_MS]);
  });

  it("a fault cleared during the alarm keeps yellow on; the alarm closed during a fault goes back to blinking", () => {
    make();
    bus.emit("fault.changed", { faults: ["no-gateway"] });
    bus.emit("alarm.raised", { alert });
    bus.emit("alarm.closed", { alertId: ALERT_ID, outcome: "resolved" });
    expect(indicator.last).toEqual(BLINK);
    bus.emit("alarm.raised", { alert: { ...alert, alertId: "00000000-0000-4000-8000-000000000002" } });
    bus.emit("fault.changed", { faults: [] });
    expect(indicator.last).toEqual(YELLOW);
  });

  it("a press counted on the open alarm beeps, and changes no light", () => {
    make();
    bus.emit("alarm.raised", { alert });
    const shown = indicator.shown.length;
    bus.emit("alarm.press-counted", { alertId: ALERT_ID, pressCount: 2 });
    bus.emit("alarm.press-counted", { alertId: ALERT_ID, pressCount: 3 });
    expect(indicator.beeps).toEqual([BEEP_MS, BEEP_MS, BEEP_MS]);
    expect(indicator.shown).toHaveLength(shown);
    expect(player.played).toEqual(["alarm-sent"]);
  });

  it("show() is not called again when the pattern does not change", () => {
    make();
    bus.emit("alarm.raised", { alert });
    bus.emit("alarm.received", { alertId: ALERT_ID });
    bus.emit("fault.changed", { faults: ["no-gateway"] });
    bus.emit("fault.changed", { faults: [] });
    bus.emit("call.ended", { alertId: ALERT_ID });
    expect(indicator.shown).toEqual([OFF, YELLOW]);
  });

  it("refresh() shows the current state again", () => {
    const c = make();
    bus.emit("alarm.raised", { alert });
    bus.emit("call.connected", { alertId: ALERT_ID });
    expect(indicator.shown).toEqual([OFF, YELLOW, YELLOW_GREEN]);
    c.refresh();
    expect(indicator.shown).toEqual([OFF, YELLOW, YELLOW_GREEN, YELLOW_GREEN]);
  });

  it("starting with an open alarm (initial 'received') shows yellow on after refresh(), with no beep and no prompt", () => {
    const c = make("received");
    expect(indicator.shown).toEqual([YELLOW]);
    expect(c.current).toEqual({ alarm: "received", call: false, faults: [] });
    expect(player.played).toEqual([]);
    expect(indicator.beeps).toEqual([]);
  });

  it("starting with an open alarm not yet received (initial 'sent') shows yellow on", () => {
    make("sent");
    expect(indicator.shown).toEqual([YELLOW]);
  });

  it("each change is logged with its reason", () => {
    make();
    bus.emit("alarm.raised", { alert });
    expect(logs.find("indicator changed").map((l) => [l.reason, l.yellow, l.green])).toEqual([
      ["start", "off", "off"],
      ["alarm raised", "on", "off"],
    ]);
  });
});

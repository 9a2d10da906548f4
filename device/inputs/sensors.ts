/**
 * What the button driver's other inputs say (tamper switch, power supply), kept for the alert and
 * the heartbeat. Each change is logged through a ChangeLog, so a flapping line cannot flood the log.
 */
import type { Logger } from "pino";
import type { KioskState } from "../../shared/contract.js";
import { ChangeLog } from "../lib/change-log.js";
import type { ButtonInput } from "./button.js";

export class Sensors {
  private readonly state: { -readonly [K in keyof KioskState]: KioskState[K] } = {};
  private readonly tamperLog: ChangeLog;
  private readonly powerLog: ChangeLog;

  constructor(log: Logger) {
    this.tamperLog = new ChangeLog(log, "warn", "tamper switch changed");
    this.powerLog = new ChangeLog(log, "info", "power supply changed");
  }

  attach(button: ButtonInput): void {
    button.on("tamper", (e) => {
      this.state.tamper = e.open ? "open" : "closed";
      this.tamperLog.change({ tamper: this.state.tamper });
    });
    button.on("power", (e) => {
      this.state.power = e.source;
      if (e.batteryPercent !== undefined) this.state.batteryPercent = e.batteryPercent;
      this.powerLog.change({ power: e.source, batteryPercent: e.batteryPercent });
    });
  }

  snapshot(): KioskState {
    return { ...this.state };
  }

  stop(): void {
    this.tamperLog.flush();
    this.powerLog.flush();
  }
}

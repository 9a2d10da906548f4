/**
 * Button-circuit self-test: for drivers that can read their line (gpio, gpiod), the button line must
 * be at its idle level, since nobody is pressing it when the self-test runs (it never runs while an
 * alarm is open). Other drivers (stdin, serial panel, Firmata) are "not applicable".
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../../../shared/errors.js";
import { sysfsGpioNumber } from "../../gpio/chip-base.js";
import type { ButtonInput } from "../../inputs/button.js";
import type { CheckOutcome, SelfCheck } from "./check.js";

/** The measurement a stuck (pressed) reading carries; only that reading stops alarms. */
export const BUTTON_STUCK = "stuck";

export class ButtonCheck implements SelfCheck {
  readonly name = "button" as const;

  constructor(private readonly button: Pick<ButtonInput, "driver" | "circuit">) {}

  async run(): Promise<CheckOutcome> {
    const { button } = this;
    if (button.circuit === undefined) return { result: "not-applicable", detail: `the ${button.driver} button driver has no line to read` };
    let reading;
    try {
      reading = await button.circuit();
    } catch (err) {
      return { result: "fail", detail: `button line cannot be read: ${(err as Error).message}` };
    }
    switch (reading.state) {
      case "idle":
        return { result: "pass", detail: `button line (${button.driver}) at its idle level` };
      case "active":
        return { result: "fail", detail: `button line (${button.driver}) reads pressed with no alarm open: a stuck button or a short in its wiring`, measurements: { [BUTTON_STUCK]: 1 } };
      case "unavailable":
        return { result: "fail", detail: reading.reason };
    }
  }
}

/**
 * The button line read from outside the agent (`sos kiosk selftest`): the agent exports the line
 * with its active_low, so /sys/class/gpio/gpioN/value reads 1 while the contact is closed. Read
 * only; a line the agent has not exported is not touched (exporting it would take it from the agent).
 */
export function sysfsButtonCircuit(sysfsRoot: string, line: number): Pick<ButtonInput, "driver" | "circuit"> {
  return {
    driver: "gpio",
    async circuit() {
      try {
        const { gpio } = await sysfsGpioNumber(sysfsRoot, line);
        const value = (await readFile(join(sysfsRoot, `gpio${gpio}`, "value"), "utf8")).trim();
        return value === "1" ? { state: "active" } : value === "0" ? { state: "idle" } : { state: "unavailable", reason: `gpio${gpio}/value reads "${value}"` };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const hint = code === "ENOENT" ? "the line is not exported: is the agent running?" : errorMessage(err);
        return { state: "unavailable", reason: `button line ${line} cannot be read (${hint})` };
      }
    },
  };
}

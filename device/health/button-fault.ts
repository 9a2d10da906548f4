/**
 * A button driver that cannot read the button (panel unplugged, tty permission denied, gpiomon
 * missing, no GPIO chip) is a fault: `button:not-working` from its `error` until its `recovered`,
 * in the heartbeat (the gateway's console and `sos kiosks` show it) and on the lights (blinking:
 * this kiosk cannot raise an alarm). For systemd it is said in STATUS, while the watchdog stays fed:
 * a restart cannot plug a panel back in, and a restart loop would be worse (device/main.ts).
 */
import type { Logger } from "pino";
import { errorMessage } from "../../shared/errors.js";
import type { ButtonInput } from "../inputs/button.js";
import type { FaultMonitor } from "./faults.js";

export const BUTTON_NOT_WORKING = "button:not-working";

export class ButtonFault {
  private why: string | null = null;

  constructor(button: ButtonInput, faults: FaultMonitor, log: Logger) {
    button.on("error", (err) => {
      this.why = `${button.driver} button not working: ${errorMessage(err)}`;
      faults.set(BUTTON_NOT_WORKING, true);
      log.error({ err: { message: errorMessage(err), code: (err as NodeJS.ErrnoException).code }, driver: button.driver, fault: BUTTON_NOT_WORKING }, "button driver error: the button cannot raise an alarm until it works again");
    });
    button.on("recovered", () => {
      if (this.why === null) return;
      this.why = null;
      faults.set(BUTTON_NOT_WORKING, false);
      log.info({ driver: button.driver, fault: BUTTON_NOT_WORKING }, "button driver working again");
    });
  }

  /** Why the button cannot be read now (one line), or null. */
  get problem(): string | null {
    return this.why;
  }
}

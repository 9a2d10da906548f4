/**
 * The SMS receiver on a modem attached to the gateway (the same AT driver as the kiosk's): every
 * incoming message goes to the intake, and the acknowledgement goes back over the same modem,
 * retried with backoff while the network refuses it.
 */
import type { Logger } from "pino";
import type { Modem } from "../../shared/modem/modem.js";
import { sendSmsWithRetry } from "../../shared/modem/send-retry.js";
import type { SmsIntake } from "./intake.js";

export class ModemSmsReceiver {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly onSms = (sms: { from: string; text: string }): void => {
    const work = this.intake
      .handle({ from: sms.from, text: sms.text, via: "modem" }, async (to, text) => {
        await sendSmsWithRetry(this.modem, to, text, { attempts: 3, backoff: { minMs: 2_000, maxMs: 20_000, factor: 2, jitter: 0.2 } }, this.log);
      })
      .catch((err: unknown) => this.log.error({ err, from: sms.from }, "SMS intake failed"));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  };

  constructor(
    private readonly modem: Modem,
    private readonly intake: SmsIntake,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.modem.on("sms", this.onSms);
    await this.modem.start();
  }

  async stop(): Promise<void> {
    this.modem.off("sms", this.onSms);
    await Promise.allSettled([...this.pending]);
    await this.modem.stop();
  }
}

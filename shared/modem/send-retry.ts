/**
 * One SMS, tried again with the shared backoff while the failure may pass (no registration, a
 * network-side +CMS ERROR, a timeout, a modem that is reconnecting); a hopeless one (a text the
 * network refuses, a bad number) fails at once.
 */
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../backoff.js";
import { isRetryable, type Modem, ModemError, ModemErrorCode, type SmsSent } from "./modem.js";

export interface SmsRetry {
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  /** Checked before every try: false ends the retries (the alarm was acknowledged meanwhile). */
  readonly stillWanted?: () => boolean;
}

export async function sendSmsWithRetry(modem: Modem, number: string, text: string, retry: SmsRetry, log: Logger): Promise<SmsSent> {
  const backoff = new Backoff(retry.backoff);
  let last: unknown;
  for (let attempt = 1; attempt <= retry.attempts; attempt += 1) {
    if (retry.stillWanted?.() === false) throw new ModemError(ModemErrorCode.Stopped, "no longer wanted");
    try {
      return await modem.sendSms(number, text);
    } catch (err) {
      last = err;
      const code = (err as ModemError).code ?? "unknown";
      if (!isRetryable(err) || attempt === retry.attempts) {
        log.warn({ to: number, attempt, code, reason: (err as Error).message }, "SMS not sent");
        break;
      }
      const delayMs = backoff.next();
      log.info({ to: number, attempt, code, reason: (err as Error).message, delayMs }, "SMS not sent: retrying");
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  throw last instanceof Error ? last : new ModemError(ModemErrorCode.Error, String(last));
}

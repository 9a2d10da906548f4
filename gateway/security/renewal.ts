/**
 * Automatic certificate renewal: a kiosk is used about once in two years and must not drop off when
 * its certificate (`security.kioskCertDays`, 825 days) runs out. At start and then every
 * `security.renewCheckMs`, kiosks whose certificate expires within `security.renewBeforeDays` get the
 * same `renew-certificate` command `sos rotate` queues; rotation.ts carries it on from there.
 *
 * A kiosk gets one renewal at a time: none is queued while its renew- or install-certificate command
 * is unconfirmed. Once a certificate is issued it is the kiosk's newest and nothing is due; when the
 * kiosk could not install it, rotation.ts revokes it, and the next check renews again (as it does
 * after a renewal the kiosk or the gateway refused). Password kiosks, revoked and decommissioned
 * kiosks are left alone (SecurityStore.renewalsDue).
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import type { SecurityStore } from "../store/security-store.js";
import { renewCommand } from "./rotation.js";

const DAY_MS = 86_400_000;

export interface RenewalDeps {
  readonly store: SecurityStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Sends queued commands to the kiosk now. */
  readonly wake: (kioskId: string) => void;
}

export class CertificateRenewal {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<number> | undefined;

  constructor(
    private readonly config: Pick<GatewayConfig, "security">,
    private readonly deps: RenewalDeps,
  ) {}

  /** Checks once now, then on the timer. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.config.security.renewCheckMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Queues the renewals due now; resolves with how many. Never rejects. */
  check(): Promise<number> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async run(): Promise<number> {
    const { store, clock, log, wake } = this.deps;
    const now = clock.now();
    try {
      const due = await store.renewalsDue(new Date(now.getTime() + this.config.security.renewBeforeDays * DAY_MS));
      let queued = 0;
      for (const { kioskId, serial, notAfter } of due) {
        if (Date.parse(notAfter) <= now.getTime()) {
          // The gateway refuses an expired certificate: no command can reach this kiosk any more.
          log.error({ kioskId, serial, notAfter }, `certificate expired before it was renewed: the kiosk cannot connect; revoke it ('sos revoke ${kioskId}') and enrol it again on site`);
          continue;
        }
        const { commandId, payload } = renewCommand();
        await store.queueCommand(kioskId, commandId, payload, now);
        queued += 1;
        log.info({ kioskId, serial, notAfter }, "certificate expires soon: renewal queued");
        wake(kioskId);
      }
      return queued;
    } catch (err) {
      log.error({ err }, "checking for certificates to renew failed; trying again at the next check");
      return 0;
    }
  }
}

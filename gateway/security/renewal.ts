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
 *
 * A fleet enrolled in one rollout falls due together, thousands at once: a check queues at most
 * `security.renewMaxPerCheck` (50) renewals, the nearest expiry first, in one transaction (one fsync,
 * so alarms and HTTP do not wait behind thousands), and logs how many are left for the next checks.
 * The window holds renewBeforeDays / renewCheckMs checks: 90 days / 6 h = 360 checks × 50 = 18,000
 * renewals, so 10,000 kiosks due at once are all queued within 200 checks (50 days), with 40 days
 * left for the last of them to connect. A backlog that cannot be queued before its certificates
 * expire is warned about at every check (raise renewMaxPerCheck). An expired certificate takes no slot.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import type { ExpiringCertificate, SecurityStore } from "../store/security-store.js";
import { PeriodicCheck } from "./periodic-check.js";
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
  private readonly periodic: PeriodicCheck<number>;

  constructor(
    private readonly config: Pick<GatewayConfig, "security">,
    private readonly deps: RenewalDeps,
  ) {
    this.periodic = new PeriodicCheck(() => this.run(), config.security.renewCheckMs);
  }

  /** Checks once now, then on the timer. */
  async start(): Promise<void> {
    await this.check();
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  /** Queues the renewals due now; resolves with how many. Never rejects. */
  check(): Promise<number> {
    return this.periodic.check();
  }

  private async run(): Promise<number> {
    const { store, clock, log, wake } = this.deps;
    const { renewBeforeDays, renewMaxPerCheck } = this.config.security;
    const now = clock.now();
    try {
      const renewable: ExpiringCertificate[] = [];
      for (const due of await store.renewalsDue(new Date(now.getTime() + renewBeforeDays * DAY_MS))) {
        if (Date.parse(due.notAfter) <= now.getTime()) {
          // The gateway refuses an expired certificate: no command can reach this kiosk any more.
          log.error({ kioskId: due.kioskId, serial: due.serial, notAfter: due.notAfter }, `certificate expired before it was renewed: the kiosk cannot connect; revoke it ('sos revoke ${due.kioskId}') and enrol it again on site`);
          continue;
        }
        renewable.push(due);
      }
      // The nearest expiries (renewalsDue's order), in one transaction: one fsync for the batch.
      const batch = renewable.slice(0, renewMaxPerCheck).map((due) => ({ due, ...renewCommand() }));
      // Another gateway process on the same store may have queued some of these meanwhile: each kiosk gets one.
      const queued = new Set(batch.length > 0 ? await store.queueRenewals(batch.map(({ due, commandId, payload }) => ({ kioskId: due.kioskId, commandId, payload })), now) : []);
      for (const { due } of batch) {
        if (!queued.has(due.kioskId)) continue;
        log.info({ kioskId: due.kioskId, serial: due.serial, notAfter: due.notAfter }, "certificate expires soon: renewal queued");
        wake(due.kioskId);
      }
      this.reportWaiting(renewable.slice(batch.length), queued.size, now);
      return queued.size;
    } catch (err) {
      log.error({ err }, "checking for certificates to renew failed; trying again at the next check");
      return 0;
    }
  }

  /** Logs the renewals left for the next checks, and warns when some would come after their certificate expires. */
  private reportWaiting(waiting: readonly ExpiringCertificate[], queued: number, now: Date): void {
    if (waiting.length === 0) return;
    const { renewMaxPerCheck, renewCheckMs } = this.config.security;
    // The k-th waiting one (soonest first) is queued at check floor(k / max) + 1 from now.
    const late = waiting.filter((due, k) => now.getTime() + (Math.floor(k / renewMaxPerCheck) + 1) * renewCheckMs >= Date.parse(due.notAfter)).length;
    this.deps.log.info({ queued, stillDue: waiting.length, renewMaxPerCheck, nextCheckInMs: renewCheckMs }, "certificate renewals still due: queued at the next checks");
    if (late > 0) {
      this.deps.log.warn(
        { late, stillDue: waiting.length, renewMaxPerCheck, renewCheckMs },
        "certificate renewals are behind: some certificates expire before their turn; raise security.renewMaxPerCheck (--renew-max-per-check)",
      );
    }
  }
}

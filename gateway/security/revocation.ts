/**
 * Revocation at the running gateway: `sos revoke` writes to the store (another process); this polls
 * the store's revocation log (one indexed query, every `security.revocationPollMs`) and cuts the
 * revoked kiosk's live connection. New connections are refused by the broker's own store lookup.
 */
import type { Logger } from "pino";
import type { SecurityStore } from "../store/security-store.js";

export interface Disconnector {
  disconnectKiosk(kioskId: string, reason: string): number;
}

export class RevocationWatcher {
  private timer: NodeJS.Timeout | undefined;
  private lastId = 0;
  private polling = false;

  constructor(
    private readonly store: SecurityStore,
    private readonly broker: Disconnector,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.lastId = await this.store.lastRevocationId();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** Reads new revocations now (also called by the admin API right after it revokes). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const event of await this.store.revocationsSince(this.lastId)) {
        this.lastId = event.id;
        const closed = this.broker.disconnectKiosk(event.kioskId, "revoked");
        this.log.info({ kioskId: event.kioskId, liveSessionsClosed: closed }, "kiosk revoked");
      }
    } catch (err) {
      this.log.error({ err }, "reading revocations failed; trying again");
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Revocation at the running gateway: `sos revoke` writes to the store (another process); this polls
 * the store's revocation log (one indexed query, every `security.revocationPollMs`), cuts the
 * revoked kiosk's live connection (its last will is not published) and clears what the broker
 * retains for it (its status), so nothing it said is handed to later subscribers. New connections
 * are refused by the broker's own store lookup.
 */
import type { Logger } from "pino";
import { retriedFailureLevel } from "../../shared/errors.js";
import type { SecurityStore } from "../store/security-store.js";

export interface Disconnector {
  disconnectKiosk(kioskId: string, reason: string): number;
  /** Clears the kiosk's retained messages; resolves with how many there were. */
  clearRetained(kioskId: string): Promise<number>;
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
        const retainedCleared = await this.broker.clearRetained(event.kioskId);
        this.log.info({ kioskId: event.kioskId, liveSessionsClosed: closed, retainedCleared }, "kiosk revoked");
      }
    } catch (err) {
      this.log[retriedFailureLevel(err)]({ err }, "reading revocations failed; trying again");
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

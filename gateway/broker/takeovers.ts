/**
 * Two agents with one kiosk's identity (a cloned SD card, a kiosk.json copied to a second box): each
 * connection closes the other (one client id), and both reconnect at once, for ever. Each alone looks
 * like a kiosk reconnecting, so nothing else would say it. A kiosk whose live connection is taken
 * over `threshold` times within `windowMs` is named in one warning per window, with the addresses
 * seen; `sos_kiosk_takeovers_total` counts every takeover. A kiosk whose old connection was still
 * half-open after a network blip is taken over once, well below the threshold.
 */
import type { Logger } from "pino";

const MAX_KIOSKS = 10_000;

export class TakeoverWatch {
  private readonly recent = new Map<string, { at: number[]; addresses: Set<string>; warnedAt: number }>();

  constructor(
    private readonly log: Logger,
    private readonly counted: () => void,
    private readonly threshold = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** The kiosk's connection from `from` was still open when one from `to` authenticated as it. */
  took(kioskId: string, from: string | undefined, to: string | undefined, nowMs: number): void {
    this.counted();
    let entry = this.recent.get(kioskId);
    if (entry === undefined) {
      if (this.recent.size >= MAX_KIOSKS) this.recent.delete(this.recent.keys().next().value ?? "");
      entry = { at: [], addresses: new Set(), warnedAt: Number.NEGATIVE_INFINITY };
      this.recent.set(kioskId, entry);
    }
    entry.at = entry.at.filter((t) => t > nowMs - this.windowMs);
    entry.at.push(nowMs);
    for (const address of [from, to]) if (address !== undefined && entry.addresses.size < 16) entry.addresses.add(address);
    if (entry.at.length < this.threshold || nowMs - entry.warnedAt < this.windowMs) return;
    entry.warnedAt = nowMs;
    this.log.warn(
      { kioskId, takeovers: entry.at.length, windowS: this.windowMs / 1_000, addresses: [...entry.addresses] },
      "kiosk connects from two places at once: each connection closes the other (a cloned SD card, or one kiosk.json on two boxes?); provision the second box as a kiosk of its own",
    );
    entry.addresses.clear();
  }
}

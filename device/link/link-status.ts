/**
 * What the link last found, in data/state/link.json, for `sos kiosk doctor` on the spot: whether the
 * gateway took this kiosk's credentials. The doctor cannot log in itself while the agent runs (the
 * gateway would drop the agent's session for the doctor's), and a reachable gateway that refuses the
 * kiosk is the one fault the TCP checks cannot see. Written when the state changes, not at every
 * retry (an SD card), and never on the alert path: after the check phase (the link's packets, which
 * mqtt.js writes on the next tick, go first), the latest state only; a failed write is one debug line.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import type { Clock } from "../../shared/clock.js";
import type { StateFileRead } from "../../shared/durable-file.js";
import { readStateFile, writeFileDurably } from "../lib/durable-file.js";
import { ensureDir } from "../lib/state-dir.js";

export const linkStatusSchema = z.object({
  v: z.literal(1),
  /** connecting: since the agent started, no answer yet; refused: the CONNACK refused the credentials. */
  state: z.enum(["connecting", "connected", "refused", "disconnected"]),
  url: z.string(),
  since: z.iso.datetime({ offset: true }),
  reason: z.string().optional(),
  /** When a gateway last took the credentials (kept across the states that follow). */
  acceptedAt: z.iso.datetime({ offset: true }).optional(),
});
export type LinkStatus = z.infer<typeof linkStatusSchema>;

export const linkStatusPath = (dataDir: string): string => join(dataDir, "state", "link.json");

export function readLinkStatus(dataDir: string): StateFileRead<LinkStatus> {
  return readStateFile(linkStatusPath(dataDir), linkStatusSchema);
}

export class LinkStatusFile {
  private readonly path: string;
  private readonly writable: boolean;
  private last: LinkStatus | undefined;
  private pending: NodeJS.Immediate | undefined;

  constructor(
    dataDir: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.path = linkStatusPath(dataDir);
    this.writable = ensureDir(join(dataDir, "state"), log, "the link's status for the doctor is");
  }

  connecting(url: string): void {
    this.set("connecting", url);
  }

  connected(url: string): void {
    this.set("connected", url, undefined, true);
  }

  refused(url: string, reason: string): void {
    this.set("refused", url, reason);
  }

  disconnected(url: string, reason: string): void {
    this.set("disconnected", url, reason);
  }

  private set(state: LinkStatus["state"], url: string, reason?: string, accepted = false): void {
    const last = this.last;
    if (last !== undefined && last.state === state && last.url === url && last.reason === reason) return;
    const now = this.clock.now().toISOString();
    const acceptedAt = accepted ? now : last?.acceptedAt;
    const next: LinkStatus = { v: 1, state, url, since: now, ...(reason === undefined ? {} : { reason }), ...(acceptedAt === undefined ? {} : { acceptedAt }) };
    this.last = next;
    if (!this.writable || this.pending !== undefined) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.write();
    });
  }

  /** Writes what is pending now (a stop). */
  flush(): void {
    if (this.pending === undefined) return;
    clearImmediate(this.pending);
    this.pending = undefined;
    this.write();
  }

  private write(): void {
    try {
      writeFileDurably(this.path, `${JSON.stringify(this.last)}\n`, 0o644);
    } catch (err) {
      this.log.debug({ err: { message: (err as Error).message }, path: this.path }, "link status not written (only the doctor reads it)");
    }
  }
}

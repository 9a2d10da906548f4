/**
 * The kiosk's durable outbox: one file per alert, written to a temp name, fsync'd, renamed, and the
 * folder fsync'd, before anyone is told the press was recorded. A file stays until the gateway's
 * application ack for that alert arrives. A plain file outbox needs no native module on the Pi.
 */
import { accessSync, constants, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { type Alert, alertSchema, describeZodError } from "../../shared/contract.js";
import { fsyncDir, writeFileDurably } from "../lib/durable-file.js";
import { makeDir } from "../../shared/make-dir.js";

const SUFFIX = ".alert.json";

export interface OutboxEntry {
  readonly alert: Alert;
  /** How many times this alert was published (this process only). */
  publishes: number;
}

export class Outbox {
  private readonly dir: string;
  private readonly corruptDir: string;
  private readonly entries = new Map<string, OutboxEntry>();
  /** Set when an append failed, cleared by the next one that reaches the disk. */
  private lastWriteFailed = false;
  /** Alerts whose file could not be written: in memory only, written again at the next append that reaches the disk. */
  private readonly notOnDisk = new Set<string>();
  /** Alerts the gateway refused (an error ack): still kept and retried, but no longer urgent (holds). */
  private readonly refused = new Set<string>();
  /** Files found unreadable at open (moved to outbox/corrupt, or left in place). */
  readonly damaged: string[] = [];

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(dataDir, "outbox");
    this.corruptDir = join(this.dir, "corrupt");
  }

  /**
   * Creates the folder and loads every alert a previous run left unacknowledged. Never throws: a
   * card that cannot be written or read (read-only, missing, not a folder) is logged, what can be
   * read is loaded, and presses are then held in memory (append) while the button works.
   */
  open(): readonly Alert[] {
    let files: string[];
    try {
      makeDir(this.dir);
      files = readdirSync(this.dir);
    } catch (err) {
      this.log.error({ err: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code }, dir: this.dir }, "cannot open the outbox folder: presses are held in memory only until it can be written; check the data partition (mounted read-only? full? --data-dir a folder?)");
      return this.pending();
    }
    for (const file of files) {
      if (file.endsWith(".tmp")) {
        // A write that never reached rename: the press was never reported as recorded.
        try {
          unlinkSync(join(this.dir, file));
        } catch (err) {
          this.log.warn({ file, err: { message: (err as Error).message } }, "cannot delete an unfinished outbox write (read-only card?): left in place");
        }
        continue;
      }
      if (!file.endsWith(SUFFIX)) continue;
      const alert = this.readEntry(file);
      if (alert !== null) this.entries.set(alert.alertId, { alert, publishes: 0 });
    }
    return this.pending();
  }

  /**
   * Records an alert. Returns true once it is on disk (file and folder fsync'd). When the disk
   * fails (full, read-only SD card) the alert is still kept in memory and sent, and false is returned.
   */
  append(alert: Alert): boolean {
    this.entries.set(alert.alertId, { alert, publishes: 0 });
    this.refused.delete(alert.alertId);
    try {
      writeFileDurably(join(this.dir, `${alert.alertId}${SUFFIX}`), JSON.stringify(alert));
      this.lastWriteFailed = false;
      this.notOnDisk.delete(alert.alertId);
    } catch (err) {
      this.lastWriteFailed = true;
      this.notOnDisk.add(alert.alertId);
      this.log.error({ err, alertId: alert.alertId, inMemoryOnly: this.notOnDisk.size }, "cannot write alert to the outbox: kept in memory only, check the disk");
      return false;
    }
    // The disk takes writes again: those held in memory only go to it now.
    for (const alertId of [...this.notOnDisk]) {
      const entry = this.entries.get(alertId);
      try {
        if (entry !== undefined) writeFileDurably(join(this.dir, `${alertId}${SUFFIX}`), JSON.stringify(entry.alert));
        this.notOnDisk.delete(alertId);
        this.log.info({ alertId }, "alert held in memory only is now on disk");
      } catch {
        break; // still failing: the next append tries again
      }
    }
    return true;
  }

  /** Unacknowledged alerts held in memory only (their file could not be written): a restart would lose them. */
  get inMemoryOnly(): number {
    return this.notOnDisk.size;
  }

  /** Forgets an acknowledged alert. Returns false when it was not (or no longer) in the outbox. */
  remove(alertId: string): boolean {
    if (!this.entries.has(alertId)) return false;
    this.entries.delete(alertId);
    this.notOnDisk.delete(alertId);
    this.refused.delete(alertId);
    try {
      unlinkSync(join(this.dir, `${alertId}${SUFFIX}`));
      fsyncDir(this.dir);
    } catch (err) {
      // A read-only or failing card: the alert is acknowledged, so forget it here; if the file
      // survives, the next start sends it again and the gateway answers it as a duplicate.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.log.error({ err, alertId }, "cannot remove an acknowledged alert from the outbox: check the disk");
      }
    }
    return true;
  }

  /**
   * Why a press could not be written to disk now, or null. Cheap and writes nothing (the watchdog
   * asks every few seconds; the SD card is spared): the folder must be a folder the agent may write
   * to (a read-only remount answers EROFS), and the last append must have succeeded (a full disk).
   */
  writeProblem(): string | null {
    if (this.lastWriteFailed) return "outbox: the last alert could not be written";
    try {
      if (!statSync(this.dir).isDirectory()) return "outbox: not a folder";
      accessSync(this.dir, constants.W_OK);
      return null;
    } catch (err) {
      return `outbox: not writable (${(err as NodeJS.ErrnoException).code ?? "error"})`;
    }
  }

  get(alertId: string): OutboxEntry | undefined {
    return this.entries.get(alertId);
  }

  /** Unacknowledged alerts, oldest press first (by instant: pressedAt may carry any offset). */
  pending(): Alert[] {
    return [...this.entries.values()].map((e) => e.alert).sort((a, b) => Date.parse(a.pressedAt) - Date.parse(b.pressedAt));
  }

  /**
   * Whether an unacknowledged alert of this kind (an SOS, not a test alarm) is waiting, one the
   * gateway has not refused: a refused alert is retried with backoff, and reconnecting sooner or
   * staying on a node for it would change nothing.
   */
  holds(kind: Alert["kind"]): boolean {
    for (const entry of this.entries.values()) if (entry.alert.kind === kind && !this.refused.has(entry.alert.alertId)) return true;
    return false;
  }

  /** The gateway refused this alert (an error ack): it is kept and retried, but no longer urgent. */
  markRefused(alertId: string): void {
    if (this.entries.has(alertId)) this.refused.add(alertId);
  }

  /** Whether the gateway refused this alert the last time it answered it. */
  isRefused(alertId: string): boolean {
    return this.refused.has(alertId);
  }

  get depth(): number {
    return this.entries.size;
  }

  private readEntry(file: string): Alert | null {
    const path = join(this.dir, file);
    try {
      const parsed = alertSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
      if (parsed.success) return parsed.data;
      this.quarantine(file, describeZodError(parsed.error));
    } catch (err) {
      this.quarantine(file, err instanceof Error ? err.message : String(err));
    }
    return null;
  }

  /** A damaged file is kept aside for a technician, never silently deleted (left in place on a read-only card). */
  private quarantine(file: string, reason: string): void {
    this.damaged.push(file);
    try {
      makeDir(this.corruptDir);
      renameSync(join(this.dir, file), join(this.corruptDir, file));
      this.log.error({ file, reason, code: "OUTBOX_CORRUPT" }, "outbox entry unreadable: moved to outbox/corrupt for inspection");
    } catch (err) {
      this.log.error({ file, reason, code: "OUTBOX_CORRUPT", moveError: (err as Error).message }, "outbox entry unreadable, and it could not be moved aside (read-only card?): left in place for inspection");
    }
  }
}

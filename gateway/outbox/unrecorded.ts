/**
 * Attempts the store could not record (full disk, locked database), kept in memory until it can.
 * A job whose delivery is remembered here is never sent again meanwhile (the receiver said 2xx: it
 * has it); a job whose failed attempt is remembered waits out that attempt's retry delay, as if it
 * had been recorded. Lost on a restart: the job is then sent again with the same Idempotency-Key,
 * which the receiver dedupes.
 */
import type { OutboxAttempt, OutboxJob } from "./forwarder.js";
import type { SendResult } from "./signed-post.js";

export interface UnrecordedAttempt {
  readonly job: OutboxJob;
  readonly record: OutboxAttempt;
  readonly next: Date | null;
  readonly result: SendResult;
  readonly finishedAt: Date;
}

interface Entry {
  readonly attempts: UnrecordedAttempt[];
  /** The last attempt number sent (the store's count is behind while entries wait). */
  lastAttempt: number;
  /** Delivered: held until recorded. Failed: held until this (epoch ms). */
  delivered: boolean;
  holdUntil: number;
}

export class UnrecordedAttempts {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  remember(attempt: UnrecordedAttempt): void {
    const entry = this.entries.get(attempt.job.id) ?? { attempts: [], lastAttempt: 0, delivered: false, holdUntil: 0 };
    entry.attempts.push(attempt);
    entry.lastAttempt = Math.max(entry.lastAttempt, attempt.record.attempt);
    entry.delivered ||= attempt.record.ok;
    entry.holdUntil = attempt.next?.getTime() ?? Number.POSITIVE_INFINITY;
    this.entries.set(attempt.job.id, entry);
  }

  /** The attempt number the store has not seen yet for this job, 0 when none. */
  lastAttempt(id: string): number {
    return this.entries.get(id)?.lastAttempt ?? 0;
  }

  /** Jobs not to send at `nowMs`: delivered ones, and failed ones still waiting out their retry. */
  held(nowMs: number): string[] {
    return [...this.entries].filter(([, e]) => e.delivered || e.holdUntil > nowMs).map(([id]) => id);
  }

  /** When the first failed job held here may be sent again (epoch ms), or null. */
  nextRelease(nowMs: number): number | null {
    let next: number | null = null;
    for (const e of this.entries.values()) {
      if (!e.delivered && e.holdUntil > nowMs && (next === null || e.holdUntil < next)) next = e.holdUntil;
    }
    return next;
  }

  /**
   * Records what waits, oldest first per job, with `record`; stops at the first failure (the store is
   * still not writable). Calls `recorded` for each attempt written. Returns whether everything was.
   */
  async flush(record: (a: UnrecordedAttempt) => Promise<void>, recorded: (a: UnrecordedAttempt) => void): Promise<boolean> {
    for (const [id, entry] of this.entries) {
      while (entry.attempts.length > 0) {
        const first = entry.attempts[0] as UnrecordedAttempt;
        try {
          await record(first);
        } catch {
          return false;
        }
        entry.attempts.shift();
        recorded(first);
      }
      this.entries.delete(id);
    }
    return true;
  }
}

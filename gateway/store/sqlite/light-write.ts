/**
 * A write that need not survive a power cut: a claim's lease. Lost in a crash, it only makes the job
 * claimable at once, which is what a restarted gateway wants anyway. Committed without the fsync
 * that synchronous=FULL gives every other transaction (in WAL mode the next FULL commit syncs it with
 * its own), so claiming a dispatch job does not add a disk flush to press -> dispatch.
 */
import type Database from "better-sqlite3";

export function lightWrite<T>(db: Database.Database, write: () => T): T {
  db.pragma("synchronous = NORMAL");
  try {
    return db.transaction(write).immediate();
  } finally {
    db.pragma("synchronous = FULL");
  }
}

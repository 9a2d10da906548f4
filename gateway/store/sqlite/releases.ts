/** The release_rollouts table (migration 9) behind ReleaseStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
import type { ReleaseStore, RolloutProgress, RolloutRecord, RolloutState } from "../release-store.js";
import { type RolloutDbRow, toRollout } from "../rows.js";



export class SqliteReleaseStore implements ReleaseStore {
  constructor(private readonly db: Database.Database) {}

  putRollout(r: Omit<RolloutRecord, "createdAt" | "updatedAt">, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const put = this.db.transaction((): boolean => {
      const existing = this.db.prepare<[string], { state: RolloutState }>("SELECT state FROM release_rollouts WHERE version = ?").get(r.version);
      if (existing?.state === "running") return false;
      this.db
        .prepare(
          `INSERT INTO release_rollouts (version, target, release_url, waves, wave, offered_wave, state, reason, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (version) DO UPDATE SET target = excluded.target, release_url = excluded.release_url, waves = excluded.waves,
             wave = excluded.wave, offered_wave = excluded.offered_wave, state = excluded.state, reason = excluded.reason,
             created_at = excluded.created_at, updated_at = excluded.updated_at`,
        )
        .run(r.version, r.target, r.releaseUrl, JSON.stringify(r.waves), r.wave, r.offeredWave, r.state, r.reason, at, at);
      return true;
    });
    return Promise.resolve(put.immediate());
  }

  getRollout(version: string): Promise<RolloutRecord | undefined> {
    const row = this.db.prepare<[string], RolloutDbRow>("SELECT * FROM release_rollouts WHERE version = ?").get(version);
    return Promise.resolve(row === undefined ? undefined : toRollout(row));
  }

  listRollouts(): Promise<RolloutRecord[]> {
    return Promise.resolve(this.db.prepare<[], RolloutDbRow>("SELECT * FROM release_rollouts ORDER BY created_at DESC, version").all().map(toRollout));
  }

  updateRollout(version: string, p: RolloutProgress, now: Date): Promise<void> {
    this.db
      .prepare("UPDATE release_rollouts SET wave = ?, offered_wave = ?, state = ?, reason = ?, updated_at = ? WHERE version = ?")
      .run(p.wave, p.offeredWave, p.state, p.reason, now.toISOString(), version);
    return Promise.resolve();
  }
}

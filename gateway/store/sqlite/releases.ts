/** The releases, release_chunks (migration 17) and release_rollouts tables behind ReleaseStore, kept apart from sqlite.ts. */
import type Database from "better-sqlite3";
import { type PublishResult, RELEASE_CHUNK_BYTES, type ReleaseRecord, type ReleaseStore, type RolloutProgress, type RolloutRecord, type RolloutState } from "../release-store.js";
import { type ReleaseDbRow, type RolloutDbRow, toRelease, toRollout } from "../rows.js";

const RELEASE_COLUMNS = "version, file, sha256, size, manifest, published_at";

export class SqliteReleaseStore implements ReleaseStore {
  constructor(private readonly db: Database.Database) {}

  publishRelease(r: Omit<ReleaseRecord, "publishedAt">, archive: Buffer, now: Date): Promise<PublishResult> {
    const put = this.db.transaction((): PublishResult => {
      const existing = this.db.prepare<[string], { sha256: string }>("SELECT sha256 FROM releases WHERE version = ?").get(r.version);
      if (existing !== undefined) return existing.sha256 === r.sha256 ? "same" : "different";
      const chunks = Math.ceil(archive.length / RELEASE_CHUNK_BYTES);
      this.db
        .prepare("INSERT INTO releases (version, file, sha256, size, manifest, chunks, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(r.version, r.file, r.sha256, r.size, r.manifest, chunks, now.toISOString());
      const insert = this.db.prepare("INSERT INTO release_chunks (version, part, bytes) VALUES (?, ?, ?)");
      for (let seq = 0; seq < chunks; seq++) insert.run(r.version, seq, archive.subarray(seq * RELEASE_CHUNK_BYTES, (seq + 1) * RELEASE_CHUNK_BYTES));
      return "published";
    });
    return Promise.resolve(put.immediate());
  }

  getRelease(version: string): Promise<ReleaseRecord | undefined> {
    const row = this.db.prepare<[string], ReleaseDbRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE version = ?`).get(version);
    return Promise.resolve(row === undefined ? undefined : toRelease(row));
  }

  listReleases(): Promise<ReleaseRecord[]> {
    return Promise.resolve(this.db.prepare<[], ReleaseDbRow>(`SELECT ${RELEASE_COLUMNS} FROM releases ORDER BY published_at DESC, version`).all().map(toRelease));
  }

  async *readRelease(version: string): AsyncIterable<Buffer> {
    const row = this.db.prepare<[string], { chunks: number }>("SELECT chunks FROM releases WHERE version = ?").get(version);
    const chunk = this.db.prepare<[string, number], { bytes: Buffer }>("SELECT bytes FROM release_chunks WHERE version = ? AND part = ?");
    for (let seq = 0; seq < (row?.chunks ?? 0); seq++) {
      const c = chunk.get(version, seq);
      if (c === undefined) throw new Error(`release ${version} lacks chunk ${seq}`);
      yield c.bytes;
      await Promise.resolve();
    }
  }

  putRollout(r: Omit<RolloutRecord, "createdAt" | "updatedAt" | "waveOfferedAt" | "noAnswer">, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const put = this.db.transaction((): boolean => {
      const existing = this.db.prepare<[string], { state: RolloutState }>("SELECT state FROM release_rollouts WHERE version = ?").get(r.version);
      if (existing?.state === "running") return false;
      this.db
        .prepare(
          `INSERT INTO release_rollouts (version, target, release_url, waves, wave, offered_wave, state, reason, created_at, updated_at, wave_deadline_ms, wave_offered_at, no_answer)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '[]')
           ON CONFLICT (version) DO UPDATE SET target = excluded.target, release_url = excluded.release_url, waves = excluded.waves,
             wave = excluded.wave, offered_wave = excluded.offered_wave, state = excluded.state, reason = excluded.reason,
             created_at = excluded.created_at, updated_at = excluded.updated_at, wave_deadline_ms = excluded.wave_deadline_ms,
             wave_offered_at = excluded.wave_offered_at, no_answer = excluded.no_answer`,
        )
        .run(r.version, r.target, r.releaseUrl, JSON.stringify(r.waves), r.wave, r.offeredWave, r.state, r.reason, at, at, r.waveDeadlineMs);
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
      .prepare("UPDATE release_rollouts SET wave = ?, offered_wave = ?, state = ?, reason = ?, wave_offered_at = ?, no_answer = ?, updated_at = ? WHERE version = ?")
      .run(p.wave, p.offeredWave, p.state, p.reason, p.waveOfferedAt, JSON.stringify(p.noAnswer), now.toISOString(), version);
    return Promise.resolve();
  }
}

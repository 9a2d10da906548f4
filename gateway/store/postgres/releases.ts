/** The releases, release_chunks (migration 17) and release_rollouts tables on PostgreSQL (as sqlite/releases.ts). */
import { type PublishResult, RELEASE_CHUNK_BYTES, type ReleaseRecord, type ReleaseStore, type RolloutProgress, type RolloutRecord, type RolloutState } from "../release-store.js";
import { type ReleaseDbRow, type RolloutDbRow, toRelease, toRollout } from "../rows.js";
import type { PgClient } from "./client.js";

export class PgReleaseStore implements ReleaseStore {
  constructor(private readonly db: PgClient) {}

  publishRelease(r: Omit<ReleaseRecord, "publishedAt">, archive: Buffer, now: Date): Promise<PublishResult> {
    const chunks = Math.ceil(archive.length / RELEASE_CHUNK_BYTES);
    return this.db.tx(async (tx): Promise<PublishResult> => {
      // Two publishers of one version at once: the second waits on the row lock, then finds it.
      const [inserted] = await tx<{ version: string }[]>`
        INSERT INTO releases (version, file, sha256, size, manifest, chunks, published_at)
        VALUES (${r.version}, ${r.file}, ${r.sha256}, ${r.size}, ${r.manifest}, ${chunks}, ${now.toISOString()})
        ON CONFLICT (version) DO NOTHING RETURNING version`;
      if (inserted === undefined) {
        const [existing] = await tx<{ sha256: string }[]>`SELECT sha256 FROM releases WHERE version = ${r.version}`;
        return existing?.sha256 === r.sha256 ? "same" : "different";
      }
      for (let seq = 0; seq < chunks; seq++) {
        const bytes = archive.subarray(seq * RELEASE_CHUNK_BYTES, (seq + 1) * RELEASE_CHUNK_BYTES);
        await tx`INSERT INTO release_chunks (version, part, bytes) VALUES (${r.version}, ${seq}, ${bytes})`;
      }
      return "published";
    });
  }

  async getRelease(version: string): Promise<ReleaseRecord | undefined> {
    const [row] = await this.db.run((q) => q<ReleaseDbRow[]>`SELECT version, file, sha256, size, manifest, published_at FROM releases WHERE version = ${version}`);
    return row === undefined ? undefined : toRelease(row);
  }

  async listReleases(): Promise<ReleaseRecord[]> {
    return (await this.db.run((q) => q<ReleaseDbRow[]>`SELECT version, file, sha256, size, manifest, published_at FROM releases ORDER BY published_at DESC, version`)).map(toRelease);
  }

  async *readRelease(version: string): AsyncIterable<Buffer> {
    const [row] = await this.db.run((q) => q<{ chunks: number }[]>`SELECT chunks FROM releases WHERE version = ${version}`);
    for (let seq = 0; seq < (row?.chunks ?? 0); seq++) {
      const [c] = await this.db.run((q) => q<{ bytes: Buffer }[]>`SELECT bytes FROM release_chunks WHERE version = ${version} AND part = ${seq}`);
      if (c === undefined) throw new Error(`release ${version} lacks chunk ${seq}`);
      yield c.bytes;
    }
  }

  putRollout(r: Omit<RolloutRecord, "createdAt" | "updatedAt" | "waveOfferedAt" | "noAnswer">, now: Date): Promise<boolean> {
    const at = now.toISOString();
    return this.db.tx(async (tx) => {
      const [existing] = await tx<{ state: RolloutState }[]>`SELECT state FROM release_rollouts WHERE version = ${r.version} FOR UPDATE`;
      if (existing?.state === "running") return false;
      await tx`
        INSERT INTO release_rollouts (version, target, release_url, waves, wave, offered_wave, state, reason, created_at, updated_at, wave_deadline_ms, wave_offered_at, no_answer)
        VALUES (${r.version}, ${r.target}, ${r.releaseUrl}, ${JSON.stringify(r.waves)}, ${r.wave}, ${r.offeredWave}, ${r.state}, ${r.reason}, ${at}, ${at}, ${r.waveDeadlineMs}, NULL, '[]')
        ON CONFLICT (version) DO UPDATE SET target = excluded.target, release_url = excluded.release_url, waves = excluded.waves,
          wave = excluded.wave, offered_wave = excluded.offered_wave, state = excluded.state, reason = excluded.reason,
          created_at = excluded.created_at, updated_at = excluded.updated_at, wave_deadline_ms = excluded.wave_deadline_ms,
          wave_offered_at = excluded.wave_offered_at, no_answer = excluded.no_answer`;
      return true;
    });
  }

  async getRollout(version: string): Promise<RolloutRecord | undefined> {
    const [row] = await this.db.run((q) => q<RolloutDbRow[]>`SELECT * FROM release_rollouts WHERE version = ${version}`);
    return row === undefined ? undefined : toRollout(row);
  }

  async listRollouts(): Promise<RolloutRecord[]> {
    return (await this.db.run((q) => q<RolloutDbRow[]>`SELECT * FROM release_rollouts ORDER BY created_at DESC, version`)).map(toRollout);
  }

  async updateRollout(version: string, p: RolloutProgress, now: Date): Promise<void> {
    await this.db.run((q) => q`
      UPDATE release_rollouts SET wave = ${p.wave}, offered_wave = ${p.offeredWave}, state = ${p.state}, reason = ${p.reason},
        wave_offered_at = ${p.waveOfferedAt}, no_answer = ${JSON.stringify(p.noAnswer)}, updated_at = ${now.toISOString()}
      WHERE version = ${version}`);
  }
}

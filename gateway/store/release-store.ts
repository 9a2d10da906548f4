/**
 * The store's side of agent releases: the published releases themselves (migration 17: the signed
 * manifest and the archive, so every gateway of a cluster serves them), and rollouts (migration 12):
 * which kiosks get a release in which wave, how far it has gone, and whether it stopped.
 */

/** Archives are kept in chunks of this size (a 50 MB release is 50 rows): served chunk by chunk, never whole in memory. */
export const RELEASE_CHUNK_BYTES = 1024 * 1024;

export interface ReleaseRecord {
  readonly version: string;
  readonly file: string;
  /** Of the archive, as in the manifest (hex). */
  readonly sha256: string;
  readonly size: number;
  /** The signed manifest, JSON. */
  readonly manifest: string;
  readonly publishedAt: string;
}

/** published: kept now; same: that version was published with these bytes already; different: with other bytes (refused). */
export type PublishResult = "published" | "same" | "different";

export type RolloutState = "running" | "halted" | "done";

export interface RolloutRecord {
  readonly version: string;
  /** As asked: "all", "5%", "region:Almaty". */
  readonly target: string;
  /** The base URL kiosks download from (…/releases/VERSION/FILE is appended). */
  readonly releaseUrl: string;
  /** Kiosk ids per wave, in order. */
  readonly waves: readonly (readonly string[])[];
  /** The wave being rolled out (0-based). */
  readonly wave: number;
  /** The last wave whose install-release commands were queued (-1: none yet). */
  readonly offeredWave: number;
  readonly state: RolloutState;
  /** Why it halted. */
  readonly reason: string | null;
  /** How long a wave waits for its kiosks' answers before those silent are counted as no answer. */
  readonly waveDeadlineMs: number;
  /** When the current wave was offered (null: not yet). */
  readonly waveOfferedAt: string | null;
  /** Kiosks whose wave passed its deadline without their answer (not failures). */
  readonly noAnswer: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RolloutProgress {
  readonly wave: number;
  readonly offeredWave: number;
  readonly state: RolloutState;
  readonly reason: string | null;
  readonly waveOfferedAt: string | null;
  readonly noAnswer: readonly string[];
}

export interface ReleaseStore {
  /** Keeps a release (its row and chunks in one transaction); a version is never replaced. */
  publishRelease(release: Omit<ReleaseRecord, "publishedAt">, archive: Buffer, now: Date): Promise<PublishResult>;
  getRelease(version: string): Promise<ReleaseRecord | undefined>;
  /** Newest first. */
  listReleases(): Promise<ReleaseRecord[]>;
  /** The archive, chunk by chunk in order (one query per chunk: memory stays at one chunk). */
  readRelease(version: string): AsyncIterable<Buffer>;
  /** Starts a rollout; false when this version has one running already. A finished or halted one is replaced. */
  putRollout(rollout: Omit<RolloutRecord, "createdAt" | "updatedAt" | "waveOfferedAt" | "noAnswer">, now: Date): Promise<boolean>;
  getRollout(version: string): Promise<RolloutRecord | undefined>;
  /** Newest first. */
  listRollouts(): Promise<RolloutRecord[]>;
  updateRollout(version: string, progress: RolloutProgress, now: Date): Promise<void>;
}

/**
 * The store's side of agent rollouts (migration 9): which kiosks get a release in which wave, how
 * far it has gone, and whether it stopped. The release files themselves are in DATA/releases
 * (gateway/releases/published.ts).
 */

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
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RolloutProgress {
  readonly wave: number;
  readonly offeredWave: number;
  readonly state: RolloutState;
  readonly reason: string | null;
}

export interface ReleaseStore {
  /** Starts a rollout; false when this version has one running already. A finished or halted one is replaced. */
  putRollout(rollout: Omit<RolloutRecord, "createdAt" | "updatedAt">, now: Date): Promise<boolean>;
  getRollout(version: string): Promise<RolloutRecord | undefined>;
  /** Newest first. */
  listRollouts(): Promise<RolloutRecord[]>;
  updateRollout(version: string, progress: RolloutProgress, now: Date): Promise<void>;
}

/** What supervision holds per kiosk (supervisor.ts decides; this is only the shape). */

import type { KioskStateName } from "../../shared/ops.js";

export interface Watch {
  readonly kioskId: string;
  state: KioskStateName;
  since: number;
  reason: string;
  components: string[];
  decommissioned: boolean;
  alive: boolean;
  firstSeenAt: number | null;
  /** From the last heartbeat (the test alarm is added at each decision). */
  beatComponents: string[];
  intervalS: number | null;
  lastTestFromBeat: number | null;
  lastTestAlert: number | null;
  shutdownSaid: boolean;
  invalidStreak: boolean;
  silence: NodeJS.Timeout | undefined;
  silenceMs: number;
  /** When the silence timer was last (re-)armed. */
  silenceArmedAt: number;
  /**
   * In a cluster, the wait after the kiosk's connection here closed (cluster.moveGraceMs): gone
   * unless it connects somewhere meanwhile. Armed instead of the silence timer, and voided with it.
   */
  moveGrace: NodeJS.Timeout | undefined;
  reminder: NodeJS.Timeout | undefined;
  reminders: number;
  /** When the last online↔degraded change was recorded (settleMs counts from it). */
  lastAliveChange: number;
  /** Fires at the end of the settle window when a change is held. */
  settle: NodeJS.Timeout | undefined;
  /** Heartbeat token bucket. */
  beatTokens: number;
  beatTokensAt: number;
  droppedBeats: number;
  dropLoggedAt: number;
  statusLoggedAt: number;
  /** This gateway process supervises the kiosk (always outside a cluster; in one, see supervisor.ts Ownership). */
  owned: boolean;
  /** Events of the kiosk that wait for this process's claim on it to be stored. */
  held: (() => void)[] | undefined;
  /** Counts the kiosk's connections and heartbeats: a confirmation asked before a newer one is void. */
  epoch: number;
}

/** Heartbeats a kiosk may send at once above its rate. */
export const BEAT_BURST = 10;

export function newWatch(kioskId: string, now: number): Watch {
  return {
    kioskId,
    state: "never-seen",
    since: now,
    reason: "provisioned",
    components: [],
    decommissioned: false,
    alive: false,
    firstSeenAt: null,
    beatComponents: [],
    intervalS: null,
    lastTestFromBeat: null,
    lastTestAlert: null,
    shutdownSaid: false,
    invalidStreak: false,
    silence: undefined,
    silenceMs: 0,
    silenceArmedAt: now,
    moveGrace: undefined,
    reminder: undefined,
    reminders: 0,
    lastAliveChange: Number.NEGATIVE_INFINITY,
    settle: undefined,
    beatTokens: BEAT_BURST,
    beatTokensAt: now,
    droppedBeats: 0,
    dropLoggedAt: Number.NEGATIVE_INFINITY,
    statusLoggedAt: Number.NEGATIVE_INFINITY,
    owned: true,
    held: undefined,
    epoch: 0,
  };
}

/** Parses JSON against a schema; undefined for anything that is not JSON or does not match. */
export function safeJson<T>(payload: Buffer, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(payload.toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

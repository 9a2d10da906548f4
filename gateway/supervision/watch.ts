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
  reminder: NodeJS.Timeout | undefined;
  reminders: number;
}

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
    reminder: undefined,
    reminders: 0,
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

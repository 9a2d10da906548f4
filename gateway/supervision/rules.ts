/**
 * Supervision's rules as pure functions: what a heartbeat says is failing, when the test alarm is
 * overdue, how long silence is tolerated, and which state follows. supervisor.ts applies them.
 *
 * Components (the words in `components`, sorted):
 * - each fault the kiosk reports, as it names it ("no-gateway", "selftest:camera", "button-stuck" …);
 * - `selftest:<name>` for each self-test whose last result is "fail";
 * - `tamper` while the case is open; `power` while the kiosk runs on battery (any battery: mains
 *   is lost and the kiosk will die within hours, which operations can act on before it does);
 * - `clock` when |receivedAt − sentAt| of the heartbeat is above maxClockSkewMs, and until it is back
 *   under half of that (hysteresis: a skew hovering at the limit, network delay included, would
 *   otherwise make a transition and an ops event per heartbeat);
 * - `test-alarm` when the last test alert the gateway stored (not the kiosk's own lastTestAlarmAt:
 *   only a stored alert proves the whole path) is older than testAlarmOverdueMs, counted from the
 *   kiosk's first contact when there has been none yet;
 * - `heartbeat-invalid` when the last heartbeat did not match the schema (the kiosk is reachable,
 *   but its health is unknown).
 */
import type { Heartbeat } from "../../shared/health.js";
import type { KioskStateName } from "../../shared/ops.js";

export interface SupervisionRules {
  readonly missedBeats: number;
  readonly graceMs: number;
  readonly defaultIntervalS: number;
  readonly maxClockSkewMs: number;
  readonly testAlarmOverdueMs: number;
}

const MAX_TIMER_MS = 2_147_483_647;

export const HEARTBEAT_INVALID = "heartbeat-invalid";
export const TEST_ALARM_OVERDUE = "test-alarm";

/**
 * What a valid heartbeat reports as failing (without the test alarm, which depends on the time).
 * `before`: what the kiosk's previous heartbeat reported (for the clock's hysteresis).
 */
export function heartbeatComponents(hb: Heartbeat, receivedAtMs: number, rules: SupervisionRules, before: readonly string[] = []): string[] {
  const out = new Set<string>(hb.faults);
  for (const test of hb.selfTests) if (test.result === "fail") out.add(`selftest:${test.name}`);
  if (hb.kioskState.tamper === "open") out.add("tamper");
  if (hb.kioskState.power === "battery") out.add("power");
  const clockLimit = before.includes("clock") ? rules.maxClockSkewMs / 2 : rules.maxClockSkewMs;
  if (Math.abs(receivedAtMs - Date.parse(hb.sentAt)) > clockLimit) out.add("clock");
  return [...out].sort();
}

/** Whether the test alarm is overdue at `nowMs`: the newest known test, else the first contact, is too old. */
export function testAlarmOverdue(lastTests: readonly (number | null)[], firstSeenMs: number | null, nowMs: number, rules: SupervisionRules): boolean {
  const known = lastTests.filter((t): t is number => t !== null);
  const last = known.length > 0 ? Math.max(...known) : firstSeenMs;
  return last !== null && nowMs - last > rules.testAlarmOverdueMs;
}

/** How long a kiosk may stay silent: missedBeats × its interval, plus the grace. */
export function silenceTimeoutMs(intervalS: number | null, rules: SupervisionRules): number {
  // Node turns a delay above 2^31-1 ms into 1 ms: never ask for one.
  return Math.min(rules.missedBeats * (intervalS ?? rules.defaultIntervalS) * 1_000 + rules.graceMs, MAX_TIMER_MS);
}

export interface WatchFacts {
  readonly decommissioned: boolean;
  /** Connected and heartbeating (or connected and not yet silent for too long). */
  readonly alive: boolean;
  /** Ever connected or heartbeated. */
  readonly seen: boolean;
  /** Failing components, the test alarm included. */
  readonly components: readonly string[];
}

export function stateOf(facts: WatchFacts): KioskStateName {
  if (facts.decommissioned) return "decommissioned";
  if (!facts.alive) return facts.seen ? "offline" : "never-seen";
  return facts.components.length > 0 ? "degraded" : "online";
}

export function sameComponents(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

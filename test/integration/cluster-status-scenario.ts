/**
 * A cluster as a duty officer may find it at 3 a.m., written straight into a store (SQLite in
 * test/integration, PostgreSQL in test/pg) for `sos cluster status` to read: gw-a beats and holds a
 * lease for almost a day; gw-b went silent 2 min 40 s ago holding a lease for 3 more hours (the next
 * gateway to run its job takes it); a process with no node row at all holds a lease that lapsed 3 s
 * ago (not judged silent: a process takes its first leases just before its first beat).
 */
import { expect } from "vitest";
import type { LeaseStore } from "../../gateway/store/lease-store.js";

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;

export const JOBS = { alive: "job.alive", silent: "job.silent", gone: "job.gone" } as const;

export async function seedClusterStatus(leases: LeaseStore, now = Date.now()): Promise<void> {
  const startedAt = new Date(now - 2 * H).toISOString();
  await leases.beat({ nodeId: "gw-a", holder: "gw-a/host/101", startedAt, beatAt: now - 12 * S, connections: 3, deadAfterMs: 60_000 });
  await leases.beat({ nodeId: "gw-b", holder: "gw-b/host/202", startedAt, beatAt: now - 160 * S, connections: 2, deadAfterMs: 15_000 });
  await leases.claimKiosks(["kz-scn-0001"], "gw-b/host/202", new Date(now - 170 * S).toISOString());
  // 30 s to spare in each lease's last unit: the CLI reads them a second or two later.
  expect(await leases.acquire(JOBS.alive, "gw-a/host/101", new Date(now), 22 * H + 55 * MIN + 30 * S)).toBe(true);
  expect(await leases.acquire(JOBS.silent, "gw-b/host/202", new Date(now), 3 * H + 30 * S)).toBe(true);
  expect(await leases.acquire(JOBS.gone, "gw-c/host/303", new Date(now - MIN), MIN - 3 * S)).toBe(true);
}

const line = (stdout: readonly string[], start: string): string => stdout.find((l) => l.startsWith(start)) ?? `(no line starting '${start}' in: ${stdout.join(" | ")})`;

/** The table: durations in hours, minutes and seconds, and each silent holder named as such. */
export function expectReadableStatus(stdout: readonly string[]): void {
  expect(line(stdout, "gw-a ")).toMatch(/^gw-a\s+gw-a\/host\/101\s+\S+\s+1[2-5] s ago\s+3\s+0$/);
  // A silent node's connections are its last word; the kiosks it supervised wait to be taken over.
  expect(line(stdout, "gw-b ")).toMatch(/^gw-b\s+gw-b\/host\/202\s+\S+\s+2 min 4[0-3] s ago \(silent: stopped or dead\)\s+- \(2 at its last beat\)\s+1$/);
  expect(stdout).toContain("1 kiosk(s) supervised by a gateway that stopped or went silent: a running node takes them over within a few beats");
  expect(line(stdout, JOBS.alive)).toMatch(/^job\.alive\s+gw-a\/host\/101\s+\S+\s+in 22 h 55 min$/);
  expect(line(stdout, JOBS.silent)).toMatch(/^job\.silent\s+gw-b\/host\/202 \(holder silent: stopped or dead\)\s+\S+\s+in 3 h$/);
  expect(line(stdout, JOBS.gone)).toMatch(/^job\.gone\s+gw-c\/host\/303\s+\S+\s+lapsed [3-6] s ago$/);
  expect(stdout).toContain("a job whose holder is silent is taken over by the next gateway that runs it, without waiting for its lease to end");
  expect(stdout.join("\n")).not.toMatch(/\d{3,} s\b/);
}

/** --json: what it said before, plus holderSilent on each job. */
export function expectStatusJson(stdout: readonly string[]): void {
  const json = JSON.parse(stdout.join("\n")) as { jobs: { name: string; holder: string; until: string; acquiredAt: string; lapsed: boolean; holderSilent: boolean }[] };
  const jobs = Object.fromEntries(json.jobs.map((j) => [j.name, j]));
  expect((JSON.parse(stdout.join("\n")) as { kiosksOfStoppedNodes: number }).kiosksOfStoppedNodes).toBe(1);
  // Every field it had before (name, holder, until, acquiredAt, lapsed), and holderSilent.
  expect(Object.keys(jobs[JOBS.alive] ?? {}).sort()).toEqual(["acquiredAt", "holder", "holderSilent", "lapsed", "name", "until"]);
  expect(jobs[JOBS.alive]).toMatchObject({ holder: "gw-a/host/101", lapsed: false, holderSilent: false });
  expect(jobs[JOBS.silent]).toMatchObject({ holder: "gw-b/host/202", lapsed: false, holderSilent: true });
  expect(jobs[JOBS.gone]).toMatchObject({ holder: "gw-c/host/303", lapsed: true, holderSilent: false });
}

/**
 * The kiosk's update state and the two moves every update is made of: switching the `current`
 * symlink, and rolling back to the last good release. Shared by the agent (which applies and
 * confirms updates) and by the guard (guard.ts, which systemd runs before every start).
 *
 * This file imports nothing but Node itself: install.sh copies it, with guard.ts, out of the
 * release into /opt/sos-kiosk/guard, so that a broken release cannot break its own rollback.
 *
 * Layout of the update home (/var/lib/sos-kiosk, the data partition):
 *   releases/VERSION/   unpacked releases          current -> releases/VERSION (what systemd runs)
 *   update/state.json   this state (temp file, fsync, rename, fsync of the folder: never torn)
 *
 * Phases, and what a power cut in each leaves:
 *   confirmed    `current` is the last good release.
 *   switching    written before the symlink moves; seen at start → the switch was cut: roll back.
 *   trying       the symlink points at `target`; the agent restarts into it and runs the health
 *                gate. Seen at start on another boot (a power cut, a watchdog reboot), after
 *                maxStarts starts (a crash loop) or past the deadline → roll back.
 *   rolled-back  `current` is the last good release again; `failed` and `reason` say what failed.
 */
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

export type UpdatePhase = "confirmed" | "switching" | "trying" | "rolled-back";

export interface UpdateState {
  readonly v: 1;
  readonly phase: UpdatePhase;
  /** The last good release (what `current` points at when no update is being tried). */
  readonly current: string;
  /** The good release before it (kept when old releases are pruned). */
  readonly previous: string | null;
  /** The release being switched to or tried. */
  readonly target: string | null;
  /** Starts of `target` so far (counted by the guard). */
  readonly attempts: number;
  /** The boot during which the switch was made (/proc/sys/kernel/random/boot_id). */
  readonly bootId: string | null;
  /** The health gate must pass before this instant (ISO). */
  readonly deadlineAt: string | null;
  /** The release that failed, and why (rolled-back). */
  readonly failed?: string | null;
  readonly reason: string | null;
  readonly updatedAt: string;
}

export const STATE_FILE = "update/state.json";
export const RELEASES = "releases";
export const CURRENT = "current";

export function statePath(home: string): string {
  return join(home, STATE_FILE);
}

/** The state, or null when there is none (a checkout, an agent installed before updates). Throws on a damaged file. */
export function readState(home: string): UpdateState | null {
  let text: string;
  try {
    text = readFileSync(statePath(home), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const state = JSON.parse(text) as UpdateState;
  if (state.v !== 1 || typeof state.current !== "string" || !["confirmed", "switching", "trying", "rolled-back"].includes(state.phase)) {
    throw new Error(`${statePath(home)} is not an update state file`);
  }
  return state;
}

/** The user install.sh makes the update home's owner. */
export const KIOSK_USER = "sos-kiosk";

/** The name of the user owning `path` (from /etc/passwd); the kiosk's user when it is root's or cannot be told. */
export function homeOwnerName(path: string): string {
  try {
    const uid = statSync(path).uid;
    if (uid === 0) return KIOSK_USER;
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[2] === String(uid));
    return line?.split(":")[0] || KIOSK_USER;
  } catch {
    return KIOSK_USER;
  }
}

/** A permission error on a file of the update home (`sudo sos kiosk update` left it root's): one line, the file and the fix. */
export function updateHomeProblem(err: unknown, home: string): string {
  const e = err as NodeJS.ErrnoException;
  const file = e.path ?? statePath(home);
  if (e.code === "EACCES" || e.code === "EPERM") {
    return `cannot use ${file}: permission denied (${e.code}); the update home must belong to the kiosk's user (files a 'sudo sos kiosk update' wrote are root's): sudo chown -R ${homeOwnerName(home)}: ${home}`;
  }
  return `${file}: ${e.message}`;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temp file, fsync, rename, fsync of the folder: a reader (after any power cut) sees the old state or the new. */
export function writeState(home: string, state: UpdateState): void {
  const path = statePath(home);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(state)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

/** The release `current` points at, or null. */
export function currentRelease(home: string): string | null {
  try {
    const target = readlinkSync(join(home, CURRENT));
    return target.startsWith(`${RELEASES}/`) ? target.slice(RELEASES.length + 1) : null;
  } catch {
    return null;
  }
}

/** Points `current` at releases/VERSION atomically: a new symlink renamed over the old one. */
export function switchCurrent(home: string, version: string): void {
  const tmp = join(home, `${CURRENT}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(`${RELEASES}/${version}`, tmp);
  renameSync(tmp, join(home, CURRENT));
  fsyncPath(home);
}

export function releaseExists(home: string, version: string): boolean {
  try {
    return lstatSync(join(home, RELEASES, version)).isDirectory();
  } catch {
    return false;
  }
}

/** Puts the last good release back: `current` first, then the state that says so. */
export function rollBack(home: string, state: UpdateState, reason: string, now: Date): UpdateState {
  switchCurrent(home, state.current);
  const next: UpdateState = {
    ...state,
    phase: "rolled-back",
    failed: state.target,
    target: null,
    attempts: 0,
    bootId: null,
    deadlineAt: null,
    reason,
    updatedAt: now.toISOString(),
  };
  writeState(home, next);
  return next;
}

export interface GuardDecision {
  readonly action: "none" | "counted" | "rolled-back" | "repaired";
  readonly state: UpdateState | null;
  readonly reason?: string;
}

export interface GuardOptions {
  readonly bootId: string | null;
  readonly maxStarts: number;
  readonly now: Date;
}

/**
 * What the guard does before each start of the agent (systemd's ExecStartPre): rolls back an
 * interrupted switch, a reboot or a crash loop during a try, or a missed deadline; otherwise counts
 * this start of the release being tried. A settled state with a stray symlink is repaired.
 */
export function guardStart(home: string, options: GuardOptions): GuardDecision {
  const state = readState(home);
  rmSync(join(home, `${CURRENT}.tmp`), { force: true });
  if (state === null) return { action: "none", state };
  if (state.phase === "switching") {
    const reason = "the switch to the new release was interrupted";
    return { action: "rolled-back", state: rollBack(home, state, reason, options.now), reason };
  }
  if (state.phase === "trying") {
    let reason: string | null = null;
    if (state.bootId !== null && options.bootId !== null && state.bootId !== options.bootId) reason = "the kiosk restarted (power cut or reboot) before the new release passed its health gate";
    else if (state.attempts >= options.maxStarts) reason = `the new release was started ${state.attempts} times without passing its health gate (crash loop)`;
    else if (state.deadlineAt !== null && options.now.getTime() > Date.parse(state.deadlineAt)) reason = "the new release missed its health gate deadline";
    else if (state.target === null || !releaseExists(home, state.target)) reason = "the new release's folder is missing";
    if (reason !== null) return { action: "rolled-back", state: rollBack(home, state, reason, options.now), reason };
    if (currentRelease(home) !== state.target) switchCurrent(home, state.target as string);
    const next: UpdateState = { ...state, attempts: state.attempts + 1, updatedAt: options.now.toISOString() };
    writeState(home, next);
    return { action: "counted", state: next };
  }
  if (currentRelease(home) !== state.current && releaseExists(home, state.current)) {
    switchCurrent(home, state.current);
    return { action: "repaired", state, reason: `current pointed elsewhere: back on ${state.current}` };
  }
  return { action: "none", state };
}

/** Rolls back a release being switched to or tried (systemd's OnFailure: the agent kept failing). */
export function guardRollback(home: string, reason: string, now: Date): GuardDecision {
  const state = readState(home);
  if (state === null || (state.phase !== "trying" && state.phase !== "switching")) return { action: "none", state };
  return { action: "rolled-back", state: rollBack(home, state, reason, now), reason };
}

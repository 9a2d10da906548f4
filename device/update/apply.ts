/**
 * Installs a signed release beside the running one and switches to it, in steps that each leave
 * something the guard can put right after a power cut (see update-state.ts):
 *
 *   verified   signature, size and digest checked; nothing written yet
 *   unpacked   tar into releases/.incoming-VERSION, every file fsync'd, renamed to releases/VERSION
 *   switching  state written: { current: the running release, target: VERSION, deadline, boot id }
 *   switched   `current` renamed over to the new release
 *   trying     state written; the agent is restarted into it and its health gate decides
 *
 * A cut before "switching" leaves the running release untouched; a cut after it (a reboot) is
 * rolled back by the guard at the next start.
 */
import { spawn } from "node:child_process";
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { type ReleaseManifest, verifyRelease } from "../../shared/release.js";
import { carryBuiltAddons } from "./built-addons.js";
import { currentRelease, readState, RELEASES, switchCurrent, updateHomeProblem, type UpdateState, writeState } from "./update-state.js";
import { makeDir } from "../../shared/make-dir.js";

export type ApplyStep = "verified" | "unpacked" | "switching" | "switched" | "trying";

export interface ApplyOptions {
  /** The update home (/var/lib/sos-kiosk): releases/, current, update/state.json. */
  readonly home: string;
  readonly archive: string;
  readonly manifest: ReleaseManifest;
  readonly publicKeyPem: string;
  /** The health gate must pass within this long of the switch. */
  readonly gateDeadlineMs: number;
  readonly bootId: string | null;
  readonly now: () => Date;
  /** Called after each step (logs; tests cut the power here). */
  readonly onStep?: (step: ApplyStep) => void;
}

const refused = (message: string): SosError => new SosError(ErrorCode.UpdateRefused, message);

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (t: string) => (stderr = (stderr + t).slice(-1_000)));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.trim()}`))));
  });
}

/** fsyncs every file and folder under `dir` (tar writes without syncing). */
function syncTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isDirectory()) syncTree(path);
    else if (st.isFile()) {
      const fd = openSync(path, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The running state; an install without a state file (install.sh writes one) starts from the `current` link. */
function settledState(home: string, now: Date): UpdateState {
  const state = readState(home);
  if (state !== null) {
    if (state.phase === "switching" || state.phase === "trying") throw refused(`an update to ${state.target ?? "?"} is still being tried: wait for its health gate (or its rollback)`);
    return state;
  }
  const current = currentRelease(home);
  if (current === null) throw refused(`${home}/current is not a link into releases/: install the agent with deploy/install.sh first`);
  return { v: 1, phase: "confirmed", current, previous: null, target: null, attempts: 0, bootId: null, deadlineAt: null, failed: null, reason: null, updatedAt: now.toISOString() };
}

/**
 * Verifies, unpacks and switches to the release; the caller then restarts the agent. Returns the new
 * state. A file of the update home this user may not read or write is one line naming it and the fix.
 */
export async function applyRelease(o: ApplyOptions): Promise<UpdateState> {
  try {
    return await apply(o);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") throw new SosError(ErrorCode.UpdateHomePermission, updateHomeProblem(err, o.home), { cause: err });
    throw err;
  }
}

async function apply(o: ApplyOptions): Promise<UpdateState> {
  const start = settledState(o.home, o.now());
  const version = o.manifest.version;
  if (version === start.current) throw refused(`release ${version} is already the running one`);

  await verifyRelease(o.archive, o.manifest, o.publicKeyPem);
  o.onStep?.("verified");

  const releases = join(o.home, RELEASES);
  for (const name of readdirSync(releases)) if (name.startsWith(".incoming-")) rmSync(join(releases, name), { recursive: true, force: true });
  const incoming = join(releases, `.incoming-${version}`);
  const target = join(releases, version);
  rmSync(incoming, { recursive: true, force: true });
  makeDir(incoming);
  // GNU tar refuses members with ".." and strips a leading "/"; owners and modes come from us.
  await run("tar", ["-xzf", o.archive, "-C", incoming, "--no-same-owner", "--no-same-permissions"]);
  let inside: unknown;
  try {
    inside = (JSON.parse(readFileSync(join(incoming, "release.json"), "utf8")) as { version?: unknown }).version;
  } catch {
    inside = undefined;
  }
  if (inside !== version) {
    rmSync(incoming, { recursive: true, force: true });
    throw refused(`the archive's release.json says version ${String(inside)}, its signed manifest ${version}`);
  }
  // Addons compiled on this kiosk (epoll) come from the running release.
  carryBuiltAddons(join(releases, start.current), incoming);
  syncTree(incoming);
  rmSync(target, { recursive: true, force: true });
  renameSync(incoming, target);
  syncTree(releases);
  o.onStep?.("unpacked");

  const now = o.now();
  const switching: UpdateState = {
    ...start,
    phase: "switching",
    target: version,
    attempts: 0,
    bootId: o.bootId,
    deadlineAt: new Date(now.getTime() + o.gateDeadlineMs).toISOString(),
    failed: null,
    reason: null,
    updatedAt: now.toISOString(),
  };
  writeState(o.home, switching);
  o.onStep?.("switching");
  switchCurrent(o.home, version);
  o.onStep?.("switched");
  const trying: UpdateState = { ...switching, phase: "trying", updatedAt: o.now().toISOString() };
  writeState(o.home, trying);
  o.onStep?.("trying");
  return trying;
}

/** Removes old releases, keeping the running one and the last good one before it. */
export function pruneReleases(home: string, keep: readonly string[]): string[] {
  const removed: string[] = [];
  const releases = join(home, RELEASES);
  for (const name of readdirSync(releases)) {
    if (keep.includes(name)) continue;
    rmSync(join(releases, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

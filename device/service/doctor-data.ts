/**
 * The doctor's "data writable" row. A synced write in the data folder proves the card takes writes;
 * but the doctor is often run with sudo, and root writes where the agent's user cannot (a data folder
 * left root's 0700 by a command run as root). As root, the row also checks the data folder and the
 * folders in it against the user the unit runs as (its uid and groups from `id`), by owner and mode.
 */
import { readdirSync, rmSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { CommandRunner } from "../health/checks/runner.js";
import { writeFileDurably } from "../lib/durable-file.js";
import type { DoctorFinding } from "./doctor.js";

const CHECK = "data writable";
/** The user sos-kiosk.service runs as (deploy/systemd, install.sh). */
export const KIOSK_USER = "sos-kiosk";

interface User {
  readonly uid: number;
  readonly gids: readonly number[];
}

async function lookUp(runner: CommandRunner, name: string): Promise<User | null> {
  const ask = async (flag: string): Promise<number[] | null> => {
    const r = await runner.run("id", [flag, name], { timeoutMs: 5_000 });
    if (r.failure !== undefined || r.code !== 0) return null;
    const ids = r.stdout.toString("utf8").trim().split(/\s+/).map(Number);
    return ids.length > 0 && ids.every((n) => Number.isInteger(n) && n >= 0) ? ids : null;
  };
  const uid = await ask("-u");
  const gids = await ask("-G");
  return uid?.[0] === undefined || gids === null ? null : { uid: uid[0], gids };
}

/** Whether `user` may make and remove files in the folder: write and search permission by owner, group or others. */
function canWrite(st: Stats, user: User): boolean {
  const bits = st.uid === user.uid ? (st.mode >> 6) & 0o7 : user.gids.includes(st.gid) ? (st.mode >> 3) & 0o7 : st.mode & 0o7;
  return (bits & 0o3) === 0o3;
}

/** The data folder and the folders in it (outbox, state…) that `user` cannot write, as "PATH (owner UID:GID, mode 0700)". */
function notWritable(dataDir: string, user: User): string[] {
  const folders = [dataDir];
  try {
    for (const e of readdirSync(dataDir, { withFileTypes: true })) if (e.isDirectory()) folders.push(join(dataDir, e.name));
  } catch {
    // Unreadable: the folder itself is reported below.
  }
  return folders.flatMap((path) => {
    const st = statSync(path);
    return canWrite(st, user) ? [] : [`${path} (owner ${st.uid}:${st.gid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`];
  });
}

export async function dataCheck(config: KioskConfig, runner: CommandRunner, euid: number): Promise<DoctorFinding> {
  const dir = config.dataDir;
  const probe = join(dir, ".doctor-probe");
  try {
    writeFileDurably(probe, "probe\n");
    rmSync(probe, { force: true });
  } catch (err) {
    return {
      check: CHECK,
      result: "fail",
      detail: `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      fix: `the data partition is missing, read-only or full: findmnt -T ${dir}; check /etc/fstab and 'dmesg | grep mmc' for card errors; df -h ${dir}`,
    };
  }
  if (euid !== 0) return { check: CHECK, result: "pass", detail: `${dir} takes a synced write` };
  const user = await lookUp(runner, KIOSK_USER);
  if (user === null) return { check: CHECK, result: "pass", detail: `${dir} takes a synced write (as root; no ${KIOSK_USER} user here to check it against)` };
  const refused = notWritable(dir, user);
  if (refused.length === 0) return { check: CHECK, result: "pass", detail: `${dir} takes a synced write, and ${KIOSK_USER} (the agent's user) may write it` };
  return {
    check: CHECK,
    result: "fail",
    detail: `${KIOSK_USER} (the agent's user, uid ${user.uid}) cannot write ${refused.join(", ")}: root can, which is why a write as root passes`,
    fix: `give the data back to the agent's user: sudo chown -R ${KIOSK_USER}: ${dir}; then: sudo systemctl restart sos-kiosk.service`,
  };
}

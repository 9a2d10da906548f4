#!/usr/bin/env node
/**
 * The update guard: systemd runs it before every start of the agent (ExecStartPre) and when the
 * agent keeps failing (OnFailure → sos-kiosk-rollback.service).
 *
 *   node guard.js start    --home /var/lib/sos-kiosk [--max-starts 3] [--boot-id-file PATH]
 *   node guard.js rollback --home /var/lib/sos-kiosk [--reason TEXT]
 *
 * It prints one line for the journal and always exits 0: whatever happens here, the agent must
 * still start (a damaged state file is reported, not fatal). Node built-ins only (see update-state.ts).
 */
import { readFileSync } from "node:fs";
import { type GuardDecision, guardRollback, guardStart, updateHomeProblem } from "./update-state.js";

const BOOT_ID = "/proc/sys/kernel/random/boot_id";

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function readBootId(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim() || null;
  } catch {
    return null;
  }
}

function describe(d: GuardDecision): string {
  const s = d.state;
  switch (d.action) {
    case "none":
      return s === null ? "no update state: nothing to do" : `on ${s.current} (${s.phase})`;
    case "counted":
      return `trying ${s?.target ?? "?"}: start ${s?.attempts ?? "?"}, health gate due by ${s?.deadlineAt ?? "?"}`;
    case "rolled-back":
      return `rolled back to ${s?.current ?? "?"} (${s?.failed ?? "?"} failed: ${d.reason ?? ""})`;
    case "repaired":
      return d.reason ?? "repaired";
  }
}

export function main(argv: readonly string[]): number {
  const [command, ...args] = argv;
  const home = option(args, "--home");
  if ((command !== "start" && command !== "rollback") || home === undefined) {
    process.stderr.write("usage: guard.js start|rollback --home DIR [--max-starts N] [--boot-id-file PATH] [--reason TEXT]\n");
    return 0;
  }
  try {
    const now = new Date();
    const decision =
      command === "start"
        ? guardStart(home, { bootId: readBootId(option(args, "--boot-id-file") ?? BOOT_ID), maxStarts: Number(option(args, "--max-starts") ?? 3), now })
        : guardRollback(home, option(args, "--reason") ?? "the agent failed repeatedly", now);
    process.stdout.write(`sos-kiosk update guard: ${describe(decision)}\n`);
  } catch (err) {
    process.stdout.write(`sos-kiosk update guard: cannot check the update state (${updateHomeProblem(err, home)}); starting the agent as it is, with no rollback\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));

/**
 * `sos kiosk selftest --config kiosk.json [--json]`: runs the kiosk's self-tests now, for a
 * technician on site, and prints a pass/fail table (exit 1 if any failed). It runs beside the agent
 * and takes nothing from it: the camera and microphone are free unless a call is on; a gpio button
 * line is read from the value file the agent exported (never exported here); a gpiod line is held
 * by the agent's gpiomon, so its check is left to the agent's daily self-test.
 * While the kiosk has an alarm open (a call may be on), it refuses unless --force: the camera and
 * the speaker are the alarm's, and a 1 kHz tone at full volume has no place in an emergency call.
 */
import { createChecks } from "../../device/health/checks/index.js";
import { sysfsButtonCircuit } from "../../device/health/checks/button.js";
import { spawnRunner } from "../../device/health/checks/runner.js";
import { runChecks } from "../../device/health/self-tests.js";
import { systemClock } from "../../shared/clock.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { loadAgentKioskConfig } from "../../shared/config/kiosk-agent.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import type { SelfTestResult } from "../../shared/health.js";
import { formatTable } from "../lib/table.js";

export interface SelftestOptions {
  config?: unknown;
  json?: unknown;
  force?: unknown;
}

/** The agent's open alarm, as it keeps it in its data folder (device/alarm/open-alarm.ts), or null. */
function openAlarm(config: KioskConfig): { alertId?: string; openedAt?: string } | null {
  try {
    return JSON.parse(readFileSync(join(config.dataDir, "state", "open-alarm.json"), "utf8")) as { alertId?: string; openedAt?: string };
  } catch {
    return null;
  }
}

function buttonFor(config: KioskConfig): Parameters<typeof createChecks>[1]["button"] {
  const b = config.button;
  if (b.driver === "gpio") return sysfsButtonCircuit(b.sysfsRoot, b.line);
  if (b.driver === "gpiod") return undefined;
  return { driver: b.driver };
}

const LABEL: Record<SelfTestResult["result"], string> = { pass: "PASS", fail: "FAIL", "not-applicable": "n/a" };

export async function run(opts: SelftestOptions): Promise<void> {
  // The hardware checks need no link: a kiosk.json broken only under `mqtt` is tested anyway, and said.
  const { config, linkProblem } = loadAgentKioskConfig(String(opts.config));
  if (linkProblem !== undefined) process.stderr.write(`note: ${linkProblem} (the self-test does not use the link; the agent runs without it until this is fixed)\n`);
  const open = opts.force === true ? null : openAlarm(config);
  if (open !== null) {
    throw new SosError(
      ErrorCode.KioskBusy,
      `kiosk ${config.kioskId} has an alarm open (${open.alertId ?? "?"}, since ${open.openedAt ?? "?"}): its camera and speaker are the alarm's; have the centre close it first, or add --force`,
    );
  }
  const checks = createChecks(config, { runner: spawnRunner, button: buttonFor(config) });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once("SIGINT", onSignal);
  const results = await runChecks(checks, systemClock, abort.signal);
  process.removeListener("SIGINT", onSignal);
  const failed = results.filter((r) => r.result === "fail");
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ kioskId: config.kioskId, ok: failed.length === 0 && !abort.signal.aborted, results }, null, 2)}\n`);
  } else {
    const rows = results.map((r) => [r.name, LABEL[r.result], `${(r.durationMs / 1_000).toFixed(1)} s`, r.detail]);
    const counts = (["pass", "fail", "not-applicable"] as const).map((k) => results.filter((r) => r.result === k).length);
    process.stdout.write(`self-test of kiosk ${config.kioskId}\n${formatTable(["check", "result", "took", "detail"], rows)}\n`);
    process.stdout.write(`${counts[0]} passed, ${counts[1]} failed, ${counts[2]} not applicable${abort.signal.aborted ? " (interrupted)" : ""}\n`);
  }
  if (failed.length > 0 || abort.signal.aborted) process.exitCode = 1;
}

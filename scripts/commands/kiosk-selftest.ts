/**
 * `sos kiosk selftest --config kiosk.json [--json]`: runs the kiosk's self-tests now, for a
 * technician on site, and prints a pass/fail table (exit 1 if any failed). It runs beside the agent
 * and takes nothing from it: the camera and microphone are free unless a call is on; a gpio button
 * line is read from the value file the agent exported (never exported here); a gpiod line is held
 * by the agent's gpiomon, so its check is left to the agent's daily self-test.
 */
import { createChecks } from "../../device/health/checks/index.js";
import { sysfsButtonCircuit } from "../../device/health/checks/button.js";
import { spawnRunner } from "../../device/health/checks/runner.js";
import { runChecks } from "../../device/health/self-tests.js";
import { systemClock } from "../../shared/clock.js";
import { type KioskConfig, loadKioskConfig } from "../../shared/config/kiosk.js";
import type { SelfTestResult } from "../../shared/health.js";
import { formatTable } from "../lib/table.js";

export interface SelftestOptions {
  config?: unknown;
  json?: unknown;
}

function buttonFor(config: KioskConfig): Parameters<typeof createChecks>[1]["button"] {
  const b = config.button;
  if (b.driver === "gpio") return sysfsButtonCircuit(b.sysfsRoot, b.line);
  if (b.driver === "gpiod") return undefined;
  return { driver: b.driver };
}

const LABEL: Record<SelfTestResult["result"], string> = { pass: "PASS", fail: "FAIL", "not-applicable": "n/a" };

export async function run(opts: SelftestOptions): Promise<void> {
  const config = loadKioskConfig(String(opts.config));
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

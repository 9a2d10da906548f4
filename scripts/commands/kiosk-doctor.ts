/**
 * `sos kiosk doctor --config kiosk.json [--json]`: checks an installed kiosk on the spot (unit,
 * watchdog, data partition, clock, GPIO, camera, microphone, speaker, gateway) and prints a table
 * with a fix under each failure; exit 1 if any check failed.
 */
import { runDoctor, tcpConnect } from "../../device/service/doctor.js";
import { spawnRunner } from "../../device/health/checks/runner.js";
import { loadAgentKioskConfig } from "../../shared/config/kiosk-agent.js";
import { formatTable } from "../lib/table.js";
import type { DoctorFinding } from "../../device/service/doctor.js";
import { KIOSK_UNIT } from "../../device/service/doctor.js";

export interface DoctorOptions {
  config?: unknown;
  json?: unknown;
  /** Where /dev and /sys are (default /): for an image mounted elsewhere. */
  root?: unknown;
}

export async function run(opts: DoctorOptions): Promise<void> {
  // An invalid mqtt section is one failing check among the others, as the agent runs on without its link.
  const { config, linkProblem, defaulted, unknownKeys } = loadAgentKioskConfig(String(opts.config));
  const findings = [
    configFinding(String(opts.config), defaulted, unknownKeys),
    ...(await runDoctor(config, { root: typeof opts.root === "string" ? opts.root : "/", runner: spawnRunner, connect: tcpConnect }, linkProblem)),
  ];
  const failed = findings.filter((f) => f.result === "fail");
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ kioskId: config.kioskId, ok: failed.length === 0, findings }, null, 2)}\n`);
  } else {
    const rows = findings.map((f) => [f.check, f.result === "pass" ? "ok" : f.result === "fail" ? "FAIL" : "-", f.detail]);
    process.stdout.write(`kiosk ${config.kioskId}\n${formatTable(["check", "result", "detail"], rows)}\n`);
    if (failed.length === 0) process.stdout.write("all checks passed\n");
    else process.stdout.write(`\n${failed.length} failed. To fix:\n${failed.map((f) => `  ${f.check}: ${f.fix ?? "see the detail above"}`).join("\n")}\n`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

/**
 * kiosk.json itself: sections the agent runs on their defaults because they are invalid (the button
 * works, but lights, prompts or the SMS fallback may not be what the site needs), and settings it
 * does not know (most likely misspelt, so ignored). The mqtt section has its own row.
 */
function configFinding(path: string, defaulted: { sections: readonly string[]; problem: string } | undefined, unknown: readonly string[]): DoctorFinding {
  const check = "kiosk.json";
  if (defaulted !== undefined) {
    return {
      check,
      result: "fail",
      detail: `${defaulted.problem} (running on defaults: ${defaulted.sections.join(", ")})`,
      fix: `correct the named fields in ${path}, then: sudo systemctl restart ${KIOSK_UNIT}`,
    };
  }
  if (unknown.length > 0) return { check, result: "fail", detail: `unknown settings, ignored: ${unknown.join(", ")}`, fix: `correct or remove them in ${path} (a misspelt setting is not used), then: sudo systemctl restart ${KIOSK_UNIT}` };
  return { check, result: "pass", detail: `${path} is valid` };
}

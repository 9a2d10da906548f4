import { resolve } from "node:path";
import { type KioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { loadAgentKioskConfig } from "../../shared/config/kiosk-agent.js";
import { createLogger } from "../../shared/log.js";
import { type KioskDeps, startKiosk } from "../../device/main.js";
import { runUntilSignal } from "../lib/cli.js";

export interface KioskOptions {
  config?: unknown;
  dataDir?: unknown;
  button?: unknown;
  enterIsPress?: unknown;
  logLevel?: unknown;
  updateHome?: unknown;
}

/** The exit status that asks systemd for an immediate restart (RestartForceExitStatus=75 in the unit). */
export const RESTART_EXIT_CODE = 75;

export async function run(opts: KioskOptions): Promise<void> {
  // An invalid mqtt section alone leaves the button working, with the link off (shared/config/kiosk-agent.ts).
  const { config: loaded, linkProblem, defaulted, unknownKeys } = loadAgentKioskConfig(String(opts.config), typeof opts.dataDir === "string" ? { dataDir: opts.dataDir } : {});
  const config = parseKioskConfig(
    {
      ...loaded,
      button: opts.button === "stdin" || opts.enterIsPress === true ? { driver: "stdin", enterIsPress: opts.enterIsPress === true } : loaded.button,
      log: { level: typeof opts.logLevel === "string" ? opts.logLevel : loaded.log.level },
      update: { ...loaded.update, ...(typeof opts.updateHome === "string" ? { home: resolve(opts.updateHome) } : {}) },
    },
    String(opts.config),
  );
  await runAgent(config, { ...(linkProblem === undefined ? {} : { linkProblem }), ...(defaulted === undefined ? {} : { defaulted }) }, unknownKeys);
}

/**
 * Runs the agent until SIGTERM/SIGINT. When `current` was switched (a new release installed, or one
 * that failed its health gate rolled back), the agent stops cleanly and exits 75, and systemd starts
 * the release `current` points at.
 */
export async function runAgent(config: KioskConfig, extra: Partial<Omit<KioskDeps, "log" | "restart">> = {}, unknownKeys: readonly string[] = []): Promise<void> {
  const log = createLogger({ name: "kiosk", level: config.log.level });
  if (unknownKeys.length > 0) log.warn({ keys: unknownKeys }, "kiosk.json has settings this agent does not know: they are ignored; check their spelling against docs/deploy-kiosk.md");
  let restarting = false;
  const restart = (reason: string): void => {
    if (restarting) return;
    restarting = true;
    log.warn({ reason, exitCode: RESTART_EXIT_CODE }, "restarting into the release current points at");
    void starting
      .then((k) => k.stop())
      .catch(() => undefined)
      .finally(() => process.exit(RESTART_EXIT_CODE));
  };
  // Handlers go in before the service starts: it logs that it is ready before start resolves, and a
  // SIGTERM that arrives in between would otherwise kill the process without a clean stop.
  const starting = startKiosk(config, { ...extra, log, restart });
  runUntilSignal(async () => {
    log.info("shutting down");
    await (await starting).stop();
  });
  await starting;
}

import { loadKioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { createLogger } from "../../shared/log.js";
import { startKiosk } from "../../device/main.js";
import { runUntilSignal } from "../lib/cli.js";

export interface KioskOptions {
  config?: unknown;
  dataDir?: unknown;
  button?: unknown;
  enterIsPress?: unknown;
  logLevel?: unknown;
}

export async function run(opts: KioskOptions): Promise<void> {
  const loaded = loadKioskConfig(String(opts.config), typeof opts.dataDir === "string" ? { dataDir: opts.dataDir } : {});
  const config = parseKioskConfig(
    {
      ...loaded,
      button: opts.button === "stdin" || opts.enterIsPress === true ? { driver: "stdin", enterIsPress: opts.enterIsPress === true } : loaded.button,
      log: { level: typeof opts.logLevel === "string" ? opts.logLevel : loaded.log.level },
    },
    String(opts.config),
  );
  const log = createLogger({ name: "kiosk", level: config.log.level });
  // Handlers go in before the service starts: it logs that it is ready before start resolves, and a
  // SIGTERM that arrives in between would otherwise kill the process without a clean stop.
  const starting = startKiosk(config, { log });
  runUntilSignal(async () => {
    log.info("shutting down");
    await (await starting).stop();
  });
  await starting;
}

import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { createLogger } from "../../shared/log.js";
import { startGateway } from "../../gateway/main.js";
import { runUntilSignal } from "../lib/cli.js";

export interface GatewayOptions {
  dataDir?: unknown;
  mqttPort?: unknown;
  mqttHost?: unknown;
  httpPort?: unknown;
  httpHost?: unknown;
  dispatchUrl?: unknown;
  dispatchSecret?: unknown;
  agency?: unknown;
  logLevel?: unknown;
}

export async function run(opts: GatewayOptions): Promise<void> {
  const config = parseGatewayConfig(
    {
      dataDir: opts.dataDir,
      mqtt: { host: opts.mqttHost, port: opts.mqttPort },
      http: { host: opts.httpHost, port: opts.httpPort },
      dispatch: {
        url: opts.dispatchUrl,
        secret: opts.dispatchSecret ?? process.env.SOS_DISPATCH_SECRET,
        agency: opts.agency,
      },
      log: { level: opts.logLevel },
    },
    "gateway options",
  );
  const log = createLogger({ name: "gateway", level: config.log.level });
  // Handlers go in before the service starts: it logs that it is ready before start resolves, and a
  // SIGTERM that arrives in between would otherwise kill the process without a clean stop.
  const starting = startGateway(config, { log });
  runUntilSignal(async () => {
    log.info("shutting down");
    await (await starting).stop();
  });
  await starting;
}

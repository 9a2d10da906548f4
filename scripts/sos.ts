#!/usr/bin/env node
/**
 * The `sos` command. Each command is loaded only when it runs (dynamic import), so `sos kiosk` on a
 * Pi never loads the broker or SQLite, and `sos gateway` never loads the kiosk's drivers.
 */
import { Command, Option } from "commander";
import { fail, parseNumber, parsePort } from "./lib/cli.js";

const program = new Command()
  .name("sos")
  .description("SOS kiosk agent, gateway and tools")
  .version("0.1.0")
  // Usage errors are one line too: what is wrong, and where the usage is.
  .configureOutput({ outputError: (str, write) => write(`${str.trim().replace(/^error: /, "sos: ")} (see 'sos --help')\n`) });

const logLevel = new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

program
  .command("gateway")
  .description("run the central gateway: MQTT broker, alert pipeline, dispatch forwarder")
  .requiredOption("--data-dir <dir>", "folder for the gateway store (gateway.db)")
  .option("--mqtt-port <port>", "MQTT listen port (0 = any free port)", parsePort, 1883)
  .option("--mqtt-host <host>", "MQTT listen address", "0.0.0.0")
  .option("--http-port <port>", "HTTP listen port for /healthz and /readyz (0 = any free port)", parsePort, 8080)
  .option("--http-host <host>", "HTTP listen address", "127.0.0.1")
  .option("--dispatch-url <url>", "dispatch webhook URL (alerts are stored but not forwarded without one)")
  .option("--dispatch-secret <secret>", "HMAC key for X-Sos-Signature (or set SOS_DISPATCH_SECRET, which keeps it out of ps)")
  .option("--agency <id>", "agency id used in incident tracking ids", "sos.gateway")
  .addOption(logLevel)
  .action(async (opts: Record<string, unknown>) => (await import("./commands/gateway.js")).run(opts).catch(fail));

program
  .command("kiosk")
  .description("run the kiosk agent")
  .requiredOption("--config <file>", "the kiosk's kiosk.json (written by 'sos provision')")
  .option("--data-dir <dir>", "folder for the outbox (default: the config's dataDir)")
  .addOption(new Option("--button <driver>", "button driver").choices(["stdin"]))
  .option("--enter-is-press", "with --button stdin, an empty line (Enter) is a press too")
  .addOption(new Option("--log-level <level>", "log level (default: the config's)").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosk.js")).run(opts).catch(fail));

program
  .command("provision")
  .description("register a kiosk in the gateway store and write its kiosk.json")
  .argument("<kioskId>", "the kiosk's id: letters, digits, '-' or '_'")
  .requiredOption("--data-dir <dir>", "the gateway's data folder")
  .requiredOption("--gateway <url>", "the MQTT URL kiosks reach the gateway at, e.g. mqtt://gateway.example:1883")
  .requiredOption("--out <dir>", "folder to write kiosk.json to")
  .option("--lat <n>", "latitude in degrees", parseNumber)
  .option("--lon <n>", "longitude in degrees", parseNumber)
  .option("--address <text>", "address or place description read out to dispatch")
  .option("--name <text>", "a short human name for the kiosk")
  .option("--force", "replace an existing kiosk's registration and secret")
  .action(async (kioskId: string, opts: Record<string, unknown>) => (await import("./commands/provision.js")).run(kioskId, opts).catch(fail));

program
  .command("alerts")
  .description("list alerts with their delivery state and attempts")
  .requiredOption("--data-dir <dir>", "the gateway's data folder")
  .option("--json", "print JSON instead of a table")
  .option("--limit <n>", "how many, newest first", parseNumber, 100)
  .option("--attempts <alertId>", "show every dispatch attempt of one alert")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/alerts.js")).run(opts).catch(fail));

program.parseAsync(process.argv).catch(fail);

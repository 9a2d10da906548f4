#!/usr/bin/env node
/**
 * The `sos` command. Each command is loaded only when it runs (dynamic import), so `sos kiosk` on a
 * Pi never loads the broker or SQLite, and `sos gateway` never loads the kiosk's drivers.
 */
import { Command, Option } from "commander";
import { agentVersion } from "../shared/agent-version.js";
import { argumentError, fail, parseCount, parseNumber, parsePort, quietOnClosedStdout, requireOption } from "./lib/cli.js";
import { requireStore, storeOption } from "./lib/store.js";

// `sos … | head -1`: a reader that stops early ends us quietly, not with an EPIPE stack trace.
quietOnClosedStdout();

const program = new Command()
  .name("sos")
  .description("SOS kiosk agent, gateway and tools")
  .version(agentVersion())
  .enablePositionalOptions()
  // Usage errors are one line too: what is wrong, and where the usage is.
  .configureOutput({ outputError: (str, write) => write(`${str.trim().replace(/^error: /, "sos: ")} (see '${helpFor(process.argv.slice(2))}')\n`) });

/** The help of the command the words name (`sos cluster status --help`), or the program's. */
function helpFor(words: readonly string[]): string {
  const path: string[] = [];
  let commands: readonly Command[] = program.commands;
  for (const word of words) {
    const next = commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next === undefined) break;
    path.push(next.name());
    commands = next.commands;
  }
  return ["sos", ...path, "--help"].join(" ");
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Where a kiosk stands (`sos enroll`, `sos provision`). */
const withPlace = (command: Command): Command =>
  command
    .option("--lat <n>", "latitude in degrees", parseNumber)
    .option("--lon <n>", "longitude in degrees", parseNumber)
    .option("--address <text>", "address or place description read out to dispatch")
    .option("--name <text>", "a short human name for the kiosk");

/** The names the gateway's server certificate is for (`sos ca init`, `sos ca server-cert`). */
const withServerNames = (command: Command): Command =>
  command.option("--name <host>", "a DNS name or IP address kiosks reach the gateway at (repeatable; default: this host, localhost, 127.0.0.1, ::1)", collect, []);

const logLevel = new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

program
  .command("gateway")
  .description("run the central gateway: MQTT broker, alert pipeline, dispatch forwarder")
  .requiredOption("--data-dir <dir>", "the gateway's data folder: certificates and keys (pki/), snapshots, and the SQLite store (gateway.db) unless --store")
  .addOption(storeOption())
  .option("--mqtt-port <port>", "MQTT listen port (0 = any free port)", parsePort, 1883)
  .option("--mqtt-host <host>", "MQTT listen address", "0.0.0.0")
  .option("--http-port <port>", "HTTP listen port: health, the operator console and MQTT over WebSocket at /mqtt (0 = any free port)", parsePort, 8080)
  .option("--http-host <host>", "HTTP listen address", "127.0.0.1")
  .option("--mqtts-port <port>", "MQTT over TLS port, client certificates required; served when the data folder has a CA ('sos ca init')", parsePort, 8883)
  .option("--mqtts-host <host>", "MQTT over TLS listen address", "0.0.0.0")
  .addOption(new Option("--profile <profile>", "production: no password listener (unless --plain-mqtt) and a CA required").choices(["dev", "production"]).default("dev"))
  .option("--plain-mqtt", "serve the password listener (--mqtt-port) even in the production profile")
  .option("--no-plain-mqtt", "do not serve the password listener (certificate kiosks only)")
  .option("--connection-burst <n>", "new MQTT connections allowed at once per source address (0 = no limit)", parseNumber)
  .option("--connections-per-second <n>", "then this many per second per source address", parseNumber)
  .option("--handshake-deadline-ms <n>", "in a reconnect storm, refuse ('server unavailable') a connection whose CONNECT comes this late after its accept (default 5000; 0 = never)", parseNumber)
  .option("--dispatch-url <url>", "dispatch webhook URL (alerts are stored but not forwarded without one)")
  .option("--dispatch-secret <secret>", "HMAC key for X-Sos-Signature (or set SOS_DISPATCH_SECRET, which keeps it out of ps)")
  .option("--agency <id>", "agency id used in incident tracking ids", "sos.gateway")
  .addOption(new Option("--dispatch-format <format>", "dispatch body: flat (sos.dispatch.alert/v1) or eido (NENA EIDO, with acknowledged / call connected / closed sent as updates)").choices(["flat", "eido"]).default("flat"))
  .option("--public-url <url>", "the gateway's URL as dispatch reaches it, for snapshot links (default http://<http-host>:<http-port>)")
  .option("--ice-server <url>", "a STUN/TURN URL for operator calls (repeatable; TURN with credentials: SOS_ICE_SERVERS as JSON)", collect, [])
  .option("--trusted-proxy <address>", "a reverse proxy in front of the HTTP port (its IP; repeatable): its X-Forwarded-For names the client for the login limits and /metrics", collect, [])
  .option("--ops-url <url>", "operations webhook URL: kiosk state changes and offline reminders (none are sent without one)")
  .option("--ops-secret <secret>", "HMAC key for the ops webhook's X-Sos-Signature (or set SOS_OPS_SECRET)")
  .option("--cluster <url>", "several active gateway nodes: MQTT routed between them through this Redis/Valkey (redis://HOST:PORT; or SOS_CLUSTER_URL)")
  .option("--node-id <id>", "this node's fixed id in the cluster (e.g. gw-a), unique and the same across restarts")
  .option("--cluster-beat-ms <n>", "how often a cluster node beats in the store and looks for kiosks of nodes that stopped (default 5000)", parseNumber)
  .option("--cluster-dead-after-ms <n>", "a cluster node silent this long is dead: another takes over its kiosks and jobs (default 15000, at least twice the beat)", parseNumber)
  .option("--move-grace-ms <n>", "a kiosk whose connection to this node closed is offline only if it connects nowhere within this long (default 10000)", parseNumber)
  .option("--listen-backlog <n>", "the MQTT listeners' accept queue (default 4096; the kernel caps it at net.core.somaxconn)", parseNumber)
  .option("--missed-beats <n>", "a kiosk is offline after this many missing heartbeats", parseNumber)
  .option("--offline-reminder-min <n>", "remind operations of an offline kiosk this often, in minutes", parseNumber)
  .option("--escalate-after-s <n>", "escalate an SOS alarm nobody acknowledged at the console after this many seconds (default 30)", parseNumber)
  .option("--escalation-repeat-s <n>", "escalate it again this often until acknowledged, in seconds (default 60)", parseNumber)
  .option("--escalation-url <url>", "escalation webhook URL: unacknowledged alarms (none are sent without one)")
  .option("--escalation-secret <secret>", "HMAC key for the escalation webhook's X-Sos-Signature (or set SOS_ESCALATION_SECRET)")
  .option("--renew-before-days <n>", "renew a kiosk's certificate automatically once it expires within this many days (default 90)", parseNumber)
  .option("--renew-check-hours <n>", "look for certificates to renew (kiosks' and the gateway's own) at start and then this often, in hours (default 6)", parseNumber)
  .option("--renew-max-per-check <n>", "queue at most this many kiosk certificate renewals per check, the nearest expiry first (default 50)", parseNumber)
  .option("--server-renew-before-days <n>", "renew the gateway's own server certificate, and load it without a restart, once it expires within this many days (default 60)", parseNumber)
  .option("--sms-modem <path>", "a modem on this machine receiving the kiosks' SMS alerts (its AT port, /dev/serial/by-id/…; docs/fallback.md)")
  .option("--sms-hook-path <path>", "the path an SMS service posts inbound messages to (default /sms/inbound; needs SOS_SMS_HOOK_SECRET)")
  .addOption(logLevel)
  .action(async (opts: Record<string, unknown>) => (await import("./commands/gateway.js")).run(opts).catch(fail));

const ca = program.command("ca").description("the gateway's certificate authority");

withServerNames(
  ca
    .command("init")
    .description("create the gateway's CA and its server certificate in DATA/pki/ (MQTT over TLS and HTTPS)")
    .requiredOption("--data-dir <dir>", "the gateway's data folder"),
)
  .option("--force", "replace an existing CA (every kiosk certificate it issued stops working)")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/ca.js")).runInit(opts).catch(fail));

withServerNames(
  ca
    .command("server-cert")
    .description("issue a new server certificate from the existing CA (for new names; the gateway renews it by itself before it expires); a running gateway loads it at its next check")
    .requiredOption("--data-dir <dir>", "the gateway's data folder"),
)
  .action(async (opts: Record<string, unknown>) => (await import("./commands/ca.js")).runServerCert(opts).catch(fail));

program
  .command("token")
  .description("one-time enrolment tokens for 'sos enroll'")
  .command("create")
  .description("create one-time enrolment tokens (printed once; stored hashed)")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--count <n>", "how many", parseCount, 1)
  .option("--expires <duration>", "how long they are valid: 30m, 12h, 7d", "7d")
  .option("--site <text>", "a note on where they are for (a site, a technician)")
  .option("--json", "print JSON")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/token.js")).runCreate(requireStore(opts, "token create")).catch(fail));

withPlace(
  program
    .command("enroll")
    .description("on a new kiosk: make its key pair, get a certificate from the gateway with a one-time token, write kiosk.json")
    .requiredOption("--gateway <url>", "the gateway's HTTPS address, https://HOST:PORT")
    .option("--token-file <path>", "a file whose first line is the one-time token from 'sos token create'; - reads it from standard input (kept out of ps and the shell history)")
    .option("--token <token>", "or the token itself (visible in ps to anyone on the machine while enrolling: prefer --token-file)")
    .requiredOption("--id <kioskId>", "this kiosk's id"),
)
  .option("--ca-cert <file>", "the gateway's CA certificate (its pki/ca.crt), to trust it the first time")
  .option("--ca-fingerprint <sha256>", "or the CA's SHA-256 fingerprint, as 'sos ca init' printed it")
  .option("--mqtt-url <url>", "the MQTT-over-TLS URL to write into kiosk.json instead of the gateway's host and mqtts port; repeat it for each node of a cluster (mqtts://gw-a:8883 …)", collect, [])
  .option("--out <dir>", "folder for kiosk.json and tls/", ".")
  .option("--force", "overwrite an existing kiosk.json in --out")
  .addHelpText("after", "\nExactly one of --token-file and --token. For example:\n  sos enroll --gateway https://gw.example:8443 --token-file /run/sos-token --id kz-ala-0001 --lat 43.24 --lon 76.89 --address \"Abay Ave\" --ca-fingerprint 5B:72:…\n  printf '%s\\n' \"$TOKEN\" | sos enroll --token-file - …")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/enroll.js")).run(opts).catch(fail));

program
  .command("rotate")
  .description("renew a kiosk's certificate over its commands topic; the old one is revoked once it connects with the new one")
  .argument("<kioskId>", "the kiosk (see 'sos kiosks')")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .action(async (kioskId: string, opts: Record<string, unknown>) => (await import("./commands/rotate.js")).run(kioskId, requireStore(opts, "rotate")).catch(fail));

program
  .command("revoke")
  .description("revoke a kiosk's certificates and password; the running gateway cuts its session within a second")
  .argument("<kioskId>", "the kiosk (see 'sos kiosks')")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .action(async (kioskId: string, opts: Record<string, unknown>) => (await import("./commands/revoke.js")).run(kioskId, requireStore(opts, "revoke")).catch(fail));

const kiosk = program
  .command("kiosk")
  .description("run the kiosk agent; 'kiosk selftest' tests its camera, audio and button now")
  .enablePositionalOptions()
  // Not requiredOption: `sos kiosk selftest --config …` has its own (commander checks a parent's too).
  .option("--config <file>", "the kiosk's kiosk.json (written by 'sos provision'); required")
  .option("--data-dir <dir>", "folder for the outbox (default: the config's dataDir)")
  .addOption(new Option("--button <driver>", "button driver").choices(["stdin"]))
  .option("--enter-is-press", "with --button stdin, an empty line (Enter) is a press too")
  .option("--update-home <dir>", "where releases/, current and update/state.json are (installed: /var/lib/sos-kiosk); default: the config's update.home")
  .addOption(new Option("--log-level <level>", "log level (default: the config's)").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosk.js")).run(requireOption(opts, "config", "--config <file>", "kiosk")).catch(fail));

kiosk
  .command("selftest")
  .description("run the self-tests now (button circuit, camera, audio path) for a technician on site; exit 1 if any failed")
  .requiredOption("--config <file>", "the kiosk's kiosk.json")
  .option("--json", "print JSON instead of a table")
  .option("--force", "run even while the kiosk has an alarm open (the tone plays into the call)")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosk-selftest.js")).run(opts).catch(fail));

kiosk
  .command("doctor")
  .description("check this kiosk's installation (unit, watchdog, data partition, clock, GPIO, camera, microphone, speaker, gateway) and print a fix for each failure; exit 1 if any failed")
  .requiredOption("--config <file>", "the kiosk's kiosk.json")
  .option("--json", "print JSON instead of a table")
  .option("--root <dir>", "where /dev and /sys are (an image mounted elsewhere)", "/")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosk-doctor.js")).run(opts).catch(fail));

kiosk
  .command("update")
  .description("install a signed release beside the running one and switch to it (run as the agent's user); restart the agent after: a release failing its health gate rolls back by itself")
  .requiredOption("--config <file>", "the kiosk's kiosk.json (update.home, update.publicKey)")
  .requiredOption("--archive <file>", "the release archive (tar.gz)")
  .option("--update-home <dir>", "where releases/, current and update/state.json are (default: the config's update.home)")
  .option("--manifest <file>", "its signed manifest (default: ARCHIVE.sig.json)")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosk-update.js")).run(opts).catch(fail));

const release = program.command("release").description("signed releases of the kiosk agent");

release
  .command("keygen")
  .description("make the release-signing key pair (Ed25519): the private key signs releases, kiosks trust the public key")
  .requiredOption("--out <dir>", "folder for release-signing.key and release-signing.pub")
  .option("--force", "replace an existing key pair (every kiosk then needs the new public key)")
  .action(async (opts: Record<string, unknown>) => {
    try {
      (await import("./commands/release.js")).runKeygen(opts);
    } catch (err) {
      fail(err);
    }
  });

release
  .command("sign")
  .description("sign a release archive: writes ARCHIVE.sig.json with its version, size and SHA-256")
  .argument("<archive>", "the release archive (tar.gz with release.json at its top)")
  .requiredOption("--key <file>", "the release-signing private key (sos release keygen)")
  .requiredOption("--version <version>", "the release's version (as in its release.json)")
  .action(async (archive: string, opts: Record<string, unknown>) => (await import("./commands/release.js")).runSign(archive, opts).catch(fail));

release
  .command("publish")
  .description("keep a signed release in the gateway's store (checked with the release public key), for kiosks to download from any gateway on it")
  .argument("<archive>", "the release archive")
  .option("--data-dir <dir>", "the gateway's data folder (its SQLite store, and release-signing.pub)")
  .option("--manifest <file>", "its signed manifest (default: ARCHIVE.sig.json)")
  .option("--public-key <file>", "the release public key (default: DATA/release-signing.pub)")
  .addOption(storeOption())
  .action(async (archive: string, opts: Record<string, unknown>) => (await import("./commands/release-offer.js")).runPublish(archive, requireStore(opts, "release publish")).catch(fail));

release
  .command("offer")
  .description("send a published release to kiosks over their commands topic: each installs it, restarts into it, and rolls back by itself if it fails its health gate")
  .argument("<version>", "a published release (sos release publish)")
  .option("--data-dir <dir>", "the gateway's data folder (its SQLite store)")
  .requiredOption("--release-url <url>", "the gateway's HTTP(S) address as kiosks reach it, e.g. https://gw.example:8443")
  .option("--kiosk <kioskId>", "a kiosk (repeatable)", collect, [])
  .option("--region <text>", "every kiosk of a region (sos provision --region)")
  .option("--all", "every kiosk")
  .addOption(storeOption())
  .action(async (version: string, opts: Record<string, unknown>) => (await import("./commands/release-offer.js")).runOffer(version, requireStore(opts, "release offer")).catch(fail));

release
  .command("rollout")
  .description("roll a published release out in waves (about 5 %, 25 %, then the rest of the target); the gateway offers each wave once the last one confirmed it, and stops by itself when a kiosk rolls it back")
  .argument("<version>", "a published release (sos release publish)")
  .option("--data-dir <dir>", "the gateway's data folder (its SQLite store)")
  .requiredOption("--to <target>", "all, a share of the fleet like 5%, or region:NAME")
  .requiredOption("--release-url <url>", "the gateway's HTTP(S) address as kiosks reach it, e.g. https://gw.example:8443")
  .option("--wave-deadline <duration>", "how long a wave waits for its kiosks (30m, 24h, 2d); those silent then are counted as no answer and the next wave is offered", "24h")
  .addOption(storeOption())
  .action(async (version: string, opts: Record<string, unknown>) => (await import("./commands/release-offer.js")).runRollout(version, requireStore(opts, "release rollout")).catch(fail));

release
  .command("rollouts")
  .description("list rollouts: wave, state, kiosks counted as no answer, and why one stopped")
  .option("--data-dir <dir>", "the gateway's data folder (its SQLite store)")
  .option("--json", "print JSON instead of a table")
  .addOption(storeOption())
  .action(async (opts: Record<string, unknown>) => (await import("./commands/release-offer.js")).runRollouts(requireStore(opts, "release rollouts")).catch(fail));

release
  .command("build")
  .description("build the kiosk agent's release for the Pi: the kiosk's modules from dist/ (npm run build first) and its production dependencies installed for linux-ARCH; fails naming each native module without a binary for ARCH; packed and signed")
  .requiredOption("--version <version>", "the release's version (written to release.json)")
  .requiredOption("--key <file>", "the release-signing private key (sos release keygen); its public key goes into deploy/")
  .requiredOption("--out <dir>", "where sos-kiosk-VERSION-linux-ARCH.tar.gz and its .sig.json are written")
  .addOption(new Option("--arch <arch>", "the kiosk's CPU").choices(["arm64", "x64"]).default("arm64"))
  .option("--keep-staging", "keep the unpacked release folder (OUT/.staging-…) for a look")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/release-build.js")).runBuild(opts).catch(fail));

release
  .command("check-native")
  .description("check that every native module in DIR/node_modules has a binary for the kiosk's CPU (exit 1 naming those that do not): run it on the production dependencies installed for the Pi")
  .argument("<dir>", "the folder holding node_modules (npm ci --omit=dev --os=linux --cpu=arm64)")
  .option("--arch <arch>", "the CPU: arm64, x64", "arm64")
  .option("--allow <module>", "a module built on the Pi or never loaded by the kiosk (repeatable)", collect, [])
  .option("--json", "print JSON instead of a table")
  .action(async (dir: string, opts: Record<string, unknown>) => (await import("./commands/release.js")).runCheckNative(dir, opts).catch(fail));

withPlace(
  program
    .command("provision")
    .description("register a kiosk (or, with --csv, many) in the gateway store and write its kiosk.json")
    .argument("[kioskId]", "the kiosk's id: letters, digits, '-' or '_' (or use --csv)")
    .option("--data-dir <dir>", "the gateway's data folder: its store (unless --store), and the CA that decides password or certificate kiosks with --csv (needed then, with --store too: any node's in a cluster, every node has the same CA)")
    .addOption(storeOption())
    .requiredOption("--gateway <url>", "the MQTT URL kiosks reach the gateway at, e.g. mqtt://gateway.example:1883 (mqtts://…:8883 when the gateway has a CA and --csv); repeat it for each node of a cluster, in the order kiosks try them", collect, [])
    .requiredOption("--out <dir>", "folder to write kiosk.json to (with --csv: one folder per kiosk in it)")
    .option("--csv <file>", "provision every kiosk in a CSV file: id,lat,lon,address[,name] (certificates when the data folder has a CA)"),
)
  .option("--region <text>", "a region for the console's fleet filter (e.g. Almaty, A2 highway)")
  .option("--force", "replace an existing kiosk's registration and secret")
  .action(async (kioskId: string | undefined, opts: Record<string, unknown>) => {
    if (typeof opts.csv === "string") {
      if (kioskId !== undefined) fail(argumentError("give either a kiosk id or --csv, not both"));
      if (typeof opts.dataDir !== "string") fail(argumentError("--csv needs --data-dir, with --store too: the gateway's data folder holds the CA that decides whether the kiosks get certificates or passwords (in a cluster, any node's)"));
      return (await import("./commands/provision-bulk.js")).run(opts).catch(fail);
    }
    if (kioskId === undefined) fail(argumentError("give the kiosk's id, or --csv FILE for many (see 'sos provision --help')"));
    return (await import("./commands/provision.js")).run(kioskId, requireStore(opts, "provision")).catch(fail);
  });

program
  .command("kiosks")
  .description("list kiosks with their supervision state, last heartbeat, failing parts and last test alarm")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--json", "print JSON instead of a table")
  .addOption(new Option("--state <state>", "only kiosks in this state").choices(["online", "degraded", "offline", "never-seen", "decommissioned"]))
  .option("--region <text>", "only kiosks in this region (sos provision --region)")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/kiosks.js")).run(requireStore(opts, "kiosks")).catch(fail));

program
  .command("decommission")
  .description("take a kiosk out of supervision (removed, replaced); its alerts are still accepted")
  .argument("<kioskId>", "the kiosk (see 'sos kiosks')")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--undo", "put it back in service")
  .action(async (kioskId: string, opts: Record<string, unknown>) => (await import("./commands/kiosks.js")).runDecommission(kioskId, requireStore(opts, "decommission")).catch(fail));

const alerts = program
  .command("alerts")
  .description("list alerts with their delivery state and attempts; 'alerts close' closes one")
  .enablePositionalOptions()
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--json", "print JSON instead of a table")
  .option("--limit <n>", "how many, newest first", parseCount, 100)
  .option("--attempts <alertId>", "show every dispatch attempt of one alert")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/alerts.js")).run(requireStore(opts, "alerts")).catch(fail));

alerts
  .command("close")
  .description("close an alarm with its outcome; the gateway tells the kiosk (its yellow light goes off)")
  .argument("<alertId>", "the alert to close (see 'sos alerts')")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .requiredOption("--outcome <text>", "what happened: help sent, false alarm, prank, test, other …")
  .option("--by <name>", "who closes it (recorded with the alarm)", process.env.USER ?? "cli")
  .action(async (alertId: string, opts: Record<string, unknown>) => (await import("./commands/alerts-close.js")).run(alertId, requireStore(opts, "alerts close")).catch(fail));

const operator = program.command("operator").description("operators who log in to the console at the gateway's HTTP port");

operator
  .command("add")
  .description("add an operator (prints a generated password unless --password-stdin)")
  .argument("<name>", "the operator's login name: lowercase letters, digits, '.', '-' or '_'")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--password-stdin", "read the password from the first line of stdin instead of generating one")
  .addOption(new Option("--role <role>", "operator: alarms and calls; admin: also kiosks, tokens and operators").choices(["operator", "admin"]).default("operator"))
  .option("--force", "give an existing operator a new password (and role); their open console sessions end")
  .action(async (name: string, opts: Record<string, unknown>) => (await import("./commands/operator.js")).runAdd(name, requireStore(opts, "operator add")).catch(fail));

operator
  .command("remove")
  .description("remove an operator (their open console sessions end within a second)")
  .argument("<name>", "the operator's login name")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .action(async (name: string, opts: Record<string, unknown>) => (await import("./commands/operator.js")).runRemove(name, requireStore(opts, "operator remove")).catch(fail));

operator
  .command("list")
  .description("list operators")
  .option("--data-dir <dir>", "the gateway's data folder (its store)")
  .addOption(storeOption())
  .option("--json", "print JSON instead of a table")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/operator.js")).runList(requireStore(opts, "operator list")).catch(fail));

const cluster = program.command("cluster").description("several gateway nodes on one store (docs/cluster.md)");

cluster
  .command("status")
  .description("which gateway runs each cluster-wide job (rollouts, the daily pruning), since when, and when its lease ends")
  .option("--data-dir <dir>", "the gateway's data folder (its SQLite store)")
  .addOption(storeOption())
  .option("--json", "print JSON instead of a table")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/cluster.js")).runStatus(requireStore(opts, "cluster status")).catch(fail));

const store = program.command("store").description("the gateway's store: create or upgrade a PostgreSQL schema, copy a SQLite store into PostgreSQL");

store
  .command("migrate")
  .description("create or upgrade the PostgreSQL store's schema (a starting gateway does too); prints the version before and after")
  .addOption(storeOption())
  .action(async (opts: Record<string, unknown>) => (await import("./commands/store.js")).runMigrate(opts).catch(fail));

store
  .command("copy")
  .description("copy every table of a SQLite store into a PostgreSQL store, in one transaction, with a progress bar and a summary")
  .requiredOption("--from <dir>", "the gateway's data folder (it holds gateway.db)")
  .addOption(new Option("--to <url>", "the PostgreSQL store, postgres://USER@HOST/DB (created or upgraded first)").env("SOS_STORE_URL"))
  .option("--force", "copy into a database that already holds gateway data (what it holds is deleted first)")
  .action(async (opts: Record<string, unknown>) => (await import("./commands/store.js")).runCopy(opts).catch(fail));

program.parseAsync(process.argv).catch(fail);

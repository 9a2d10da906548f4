import { InvalidArgumentError } from "commander";
import { gatewayUrlMessage, gatewayUrlProblem, MAX_GATEWAY_URLS } from "../../shared/config/gateway-url.js";
import { ErrorCode, SosError, errorMessage, isSosError } from "../../shared/errors.js";

/** Prints one line saying what is wrong and exits non-zero; no stack trace unless SOS_DEBUG=1. */
export function fail(err: unknown): never {
  // A kiosk's release holds only the kiosk's commands (sos release build): say so for the others.
  const absent = /Cannot find module '[^']*\/dist\/scripts\/commands\/([\w-]+)\.js' imported from [^']*\/dist\/scripts\/sos\.js/.exec(errorMessage(err));
  const message = isSosError(err)
    ? errorMessage(err)
    : absent !== null
      ? `this is a kiosk's release, with only the kiosk's commands (enroll, kiosk, kiosk selftest|doctor|update): run this one at the gateway or from a checkout (no commands/${absent[1] ?? "?"}.js here)`
      : `unexpected error: ${errorMessage(err)} (set SOS_DEBUG=1 to see the stack)`;
  process.stderr.write(`sos: ${message}\n`);
  if (process.env.SOS_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
  process.exit(1);
}

/** The exit status of a Unix tool killed by SIGPIPE (128 + 13): its reader stopped reading. */
export const EXIT_BROKEN_PIPE = 141;

/**
 * A reader that stops early (`sos kiosks | head -1`, `| true`) closes our stdout: the next write
 * fails with EPIPE, which Node (it ignores SIGPIPE) emits as an 'error' event that would crash with a
 * stack trace. Stop quietly instead, as other Unix tools do, with the status SIGPIPE gives them; any
 * other stdout failure (a full disk) is one line, as every failure is. Installed once, by the CLI root.
 */
export function quietOnClosedStdout(stdout: NodeJS.EventEmitter = process.stdout, exit: (code: number) => void = (code) => process.exit(code)): void {
  stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") exit(EXIT_BROKEN_PIPE);
    else fail(err);
  });
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("must be a port number from 0 to 65535 (0 picks a free one)");
  return n;
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
}

/** A count (--limit, --count): a whole number of at least 1. */
export function parseCount(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number of at least 1");
  return n;
}

export function argumentError(message: string): SosError {
  return new SosError(ErrorCode.ArgumentInvalid, message);
}

/**
 * Runs a long-lived service until SIGINT/SIGTERM, then stops it cleanly and exits 0.
 * A second signal while stopping exits at once with 130.
 */
export function runUntilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`sos: ${signal} again: exiting without waiting\n`);
      process.exit(130);
    }
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sos: error while stopping: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/** An option required by a command that also has subcommands (commander would demand it of them too). */
export function requireOption<T extends Record<string, unknown>>(opts: T, key: string, usage: string, command: string): T {
  if (typeof opts[key] !== "string") fail(argumentError(`required option '${usage}' not specified (see 'sos ${command} --help')`));
  return opts;
}

/** A repeatable option's values (commander gives an array; a caller may pass one value or none). */
export function repeated(given: unknown): string[] {
  return (Array.isArray(given) ? given : given === undefined ? [] : [given]).map(String);
}

/**
 * kiosk.json's gateway address from `--gateway` given once (`mqtt.url`) or several times, one per
 * gateway node (`mqtt.urls`, each kiosk in an order of its own; docs/cluster.md).
 */
export function kioskGateways(given: unknown, flag = "--gateway"): { url: string } | { urls: string[] } {
  const list = checkedGateways(given, flag);
  if (list.length === 0) throw argumentError(`give the gateway's MQTT URL: ${flag} mqtt(s)://HOST:PORT (repeat it for each node of a cluster)`);
  return list.length === 1 ? { url: list[0] ?? "" } : { urls: list };
}

/**
 * The gateway MQTT addresses given with `flag` (repeatable), each checked (shared/config/gateway-url.ts),
 * none twice, at most MAX_GATEWAY_URLS: refused before anything is written or spent.
 */
export function checkedGateways(given: unknown, flag: string): string[] {
  const list = repeated(given);
  for (const url of list) {
    const problem = gatewayUrlProblem(url);
    if (problem !== undefined) throw argumentError(`${flag} ${gatewayUrlMessage(url, problem)}`);
  }
  const twice = list.find((url, i) => list.indexOf(url) !== i);
  if (twice !== undefined) throw argumentError(`${flag} '${twice}' is given twice: give each gateway node once`);
  if (list.length > MAX_GATEWAY_URLS) throw argumentError(`${list.length} ${flag} given: a kiosk takes at most ${MAX_GATEWAY_URLS} gateway nodes`);
  return list;
}

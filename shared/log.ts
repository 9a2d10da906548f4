import { pino, type DestinationStream, type Logger } from "pino";
import { z } from "zod";
import { errorMessage } from "./errors.js";

export type { Logger } from "pino";

export const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
export type LogLevel = z.infer<typeof logLevelSchema>;

/** Secrets never reach a log: passwords, tokens, private keys, signatures, SDP credentials. */
export const redactPaths: readonly string[] = [
  "password",
  "secret",
  "token",
  "privateKey",
  "signature",
  "*.password",
  "*.secret",
  "*.token",
  "*.privateKey",
  "*.signature",
  "mqtt.password",
  "dispatch.secret",
  "config.mqtt.password",
  "config.dispatch.secret",
  "headers.authorization",
  'headers["x-sos-signature"]',
  "sdp",
  "*.sdp",
  // The kiosk's SMS key (docs/fallback.md), wherever a config or a record is logged.
  "smsKey",
  "*.smsKey",
  "fallback.smsKey",
  "config.fallback.smsKey",
];

export interface LoggerOptions {
  readonly name: string;
  readonly level: LogLevel;
  /** Defaults to synchronous stdout, so the last lines before a crash are not lost. */
  readonly destination?: DestinationStream;
  readonly base?: Record<string, unknown>;
}

/**
 * pino's error serializer, without saying a cause twice: pino appends each cause's message to the
 * error's ("unreachable: write CONNECTION_CLOSED h:5432: write CONNECTION_CLOSED h:5432") even when
 * the error's own message already ends with it, as ours do (`…: ${errorMessage(err)}`, { cause: err }).
 * Down the whole chain; a cause the message does not end with is appended as pino does.
 */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (!(err instanceof Error)) return out;
  return { ...(out as object), message: messageOnce(err, new Set()) };
}

function messageOnce(err: Error, seen: Set<unknown>): string {
  seen.add(err);
  const cause = err.cause;
  if (cause === undefined || cause === null) return err.message;
  if (!(cause instanceof Error) || seen.has(cause)) return (pino.stdSerializers.err(err) as { message: string }).message;
  const chain = messageOnce(cause, seen);
  const quoted = errorMessage(cause);
  return quoted !== "" && err.message.endsWith(quoted) ? err.message + chain.slice(cause.message.length) : `${err.message}: ${chain}`;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: [...redactPaths], censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    destination,
  );
}

import { pino, type DestinationStream, type Logger } from "pino";
import { z } from "zod";

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
 * the error's own message already quotes it, as ours do (`…: ${errorMessage(err)}`, { cause: err }).
 */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  const cause = err instanceof Error ? err.cause : undefined;
  if (!(err instanceof Error) || !(cause instanceof Error) || cause.message === "" || !err.message.includes(cause.message)) return out;
  const chain = (pino.stdSerializers.err(cause) as { message: string }).message;
  return { ...(out as object), message: err.message + chain.slice(cause.message.length) };
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

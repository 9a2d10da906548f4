import { z } from "zod";
import { kioskIdSchema, locationSchema } from "../contract.js";
import { logLevelSchema } from "../log.js";
import { parseConfig, readJsonFile } from "./parse.js";
import { dirname, resolve } from "node:path";

const backoffSchema = z.object({
  minMs: z.number().int().min(10).default(1_000),
  maxMs: z.number().int().min(10).default(60_000),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
});

const buttonSchema = z.discriminatedUnion("driver", [
  z.object({
    driver: z.literal("stdin"),
    /** An empty line (the Enter key) counts as a press too: for the demo and bench tests. */
    enterIsPress: z.boolean().default(false),
  }),
]);

/** kiosk.json: the kiosk's whole config, written by `sos provision`. */
export const kioskConfigSchema = z.object({
  version: z.literal(1),
  kioskId: kioskIdSchema,
  name: z.string().max(200).optional(),
  location: locationSchema,
  mqtt: z.object({
    url: z.string().regex(/^(mqtt|mqtts|tcp|ssl):\/\/[^/\s]+$/, "must look like mqtt://HOST:PORT"),
    username: z.string().min(1),
    password: z.string().min(1),
    keepaliveSeconds: z.number().int().min(5).max(600).default(30),
    connectTimeoutMs: z.number().int().min(500).default(10_000),
  }),
  /** Where the outbox lives; relative paths are relative to the config file. */
  dataDir: z.string().min(1).default("data"),
  button: buttonSchema.default({ driver: "stdin", enterIsPress: false }),
  alerts: z
    .object({
      /** An alert published but not acknowledged within this time is sent again. */
      ackTimeoutMs: z.number().int().min(100).default(10_000),
      resend: backoffSchema.default({ minMs: 10_000, maxMs: 300_000, factor: 2, jitter: 0.2 }),
    })
    .default({ ackTimeoutMs: 10_000, resend: { minMs: 10_000, maxMs: 300_000, factor: 2, jitter: 0.2 } }),
  reconnect: backoffSchema.default({ minMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 }),
  log: z.object({ level: logLevelSchema.default("info") }).default({ level: "info" }),
});

export type KioskConfig = Readonly<z.output<typeof kioskConfigSchema>>;
export type KioskConfigInput = z.input<typeof kioskConfigSchema>;

export function parseKioskConfig(input: unknown, source = "kiosk config"): KioskConfig {
  return parseConfig(kioskConfigSchema, input, source);
}

/** Loads kiosk.json; the data dir is resolved against the file's folder unless overridden. */
export function loadKioskConfig(path: string, overrides: { dataDir?: string } = {}): KioskConfig {
  const raw = readJsonFile(path);
  const parsed = parseKioskConfig(raw, path);
  const dataDir = overrides.dataDir ?? resolve(dirname(path), parsed.dataDir);
  return parseKioskConfig({ ...parsed, dataDir }, path);
}

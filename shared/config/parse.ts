import { readFileSync } from "node:fs";
import type { z } from "zod";
import { describeZodError } from "../contract.js";
import { ErrorCode, SosError, errorMessage } from "../errors.js";

/** Deep-freezes a parsed config so nobody mutates what was validated. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a config object once, reporting every problem at once as `path: message`,
 * and returns the frozen result with defaults filled in.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): Readonly<z.output<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new SosError(ErrorCode.ConfigInvalid, `${source} is invalid: ${describeZodError(result.error)}`);
  }
  return deepFreeze(result.data);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The keys of `input` that parsing dropped (zod strips keys a schema does not know), as dotted paths:
 * a misspelt setting (`enterIsPres`) would otherwise be ignored without a word.
 */
export function unknownKeys(input: unknown, output: unknown, prefix = ""): string[] {
  if (Array.isArray(input) && Array.isArray(output)) return input.flatMap((item, i) => unknownKeys(item, output[i], `${prefix}${i}.`));
  if (!isPlainObject(input) || !isPlainObject(output)) return [];
  return Object.keys(input).flatMap((key) => (key in output ? unknownKeys(input[key], output[key], `${prefix}${key}.`) : [`${prefix}${key}`]));
}

/** Reads and parses a JSON config file; a missing or malformed file is a one-line error. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new SosError(ErrorCode.ConfigMissing, `config file ${path} does not exist: check the path, or create it with 'sos provision'`);
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new SosError(ErrorCode.ConfigMissing, `cannot read config file ${path}: permission denied (${code}): it is readable by its owner only (it holds secrets); run the command with sudo, or as the file's owner`);
    }
    throw new SosError(ErrorCode.ConfigMissing, `cannot read config file ${path}: ${errorMessage(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SosError(ErrorCode.ConfigInvalid, `config file ${path} is not valid JSON (${errorMessage(err)}): fix the file or provision the kiosk again`);
  }
}

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
    throw new SosError(ErrorCode.ConfigMissing, `cannot read config file ${path}: ${errorMessage(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SosError(ErrorCode.ConfigInvalid, `config file ${path} is not valid JSON (${errorMessage(err)}): fix the file or provision the kiosk again`);
  }
}

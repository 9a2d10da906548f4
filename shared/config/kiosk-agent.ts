/**
 * kiosk.json as the agent and `sos kiosk doctor` load it. The button works first: a kiosk.json whose
 * only problems are under `mqtt` (the network side, say a hand-edited gateway list) still runs the
 * button, the outbox and the lights, with the link to the gateway off until the file is fixed and
 * the agent restarted (device/main.ts says so once and shows the fault). Anything else invalid (the
 * kiosk id, its location, the data folder, the button…) fails at once as loadKioskConfig does: there
 * is nothing safe to run without them.
 */
import type { z } from "zod";
import { describeZodError } from "../contract.js";
import { ErrorCode, SosError } from "../errors.js";
import { type KioskConfig, kioskConfigError, parseKioskConfig, resolveKioskConfig } from "./kiosk.js";
import { readJsonFile, unknownKeys } from "./parse.js";

/**
 * Stands in for an invalid mqtt section so that the rest of the config can be parsed; nothing
 * connects to it (the link is not started), and `.invalid` names no host should anything try.
 */
const LINK_OFF_MQTT = { url: "mqtt://link-off.invalid:1883", username: "link-off", password: "link-off" } as const;

export interface AgentKioskConfig {
  readonly config: KioskConfig;
  /**
   * Set when kiosk.json's mqtt section is invalid: the one-line config error naming each bad field
   * and its fix. `config.mqtt` is then a placeholder that must not be connected to.
   */
  readonly linkProblem?: string;
  /** Settings in kiosk.json this agent does not know (dotted paths): ignored, most likely misspelt. */
  readonly unknownKeys: readonly string[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Loads kiosk.json (paths resolved as loadKioskConfig does), keeping the button when only `mqtt` is invalid. */
export function loadAgentKioskConfig(path: string, overrides: { dataDir?: string } = {}): AgentKioskConfig {
  const raw = readJsonFile(path);
  const invalid = (...errors: z.ZodError[]): string => `${path} is invalid: ${errors.map(describeZodError).join("; ")}`;
  const error = kioskConfigError(raw);
  if (error === null) {
    const parsed = parseKioskConfig(raw, path);
    return { config: resolveKioskConfig(parsed, path, overrides), unknownKeys: unknownKeys(raw, parsed) };
  }
  if (!isObject(raw) || !error.issues.every((issue) => issue.path[0] === "mqtt")) throw new SosError(ErrorCode.ConfigInvalid, invalid(error));
  // The whole-config rules (a modem needs numbers, lights on the button's board…) run only once every
  // field parses: they are checked now, with the placeholder, and reported beside the mqtt problems.
  const withoutLink = { ...raw, mqtt: LINK_OFF_MQTT };
  const rest = kioskConfigError(withoutLink);
  if (rest !== null) throw new SosError(ErrorCode.ConfigInvalid, invalid(error, rest));
  const parsed = parseKioskConfig(withoutLink, path);
  return { config: resolveKioskConfig(parsed, path, overrides), linkProblem: invalid(error), unknownKeys: unknownKeys({ ...raw, mqtt: {} }, parsed) };
}

/**
 * kiosk.json as the agent and `sos kiosk doctor` load it. The button works first: a kiosk.json whose
 * only problems are under `mqtt` (the network side, say a hand-edited gateway list) still runs the
 * button, the outbox and the lights, with the link to the gateway off until the file is fixed and
 * the agent restarted (device/main.ts says so once and shows the fault). A section the button does
 * not need (audio, lights, self-tests, timings: DEFAULTABLE) that is invalid runs on its defaults and
 * is reported (`config:SECTION` in the heartbeat). Anything else invalid (the kiosk id, its location,
 * the data folder, the button) fails at once as loadKioskConfig does: there is nothing safe to run
 * without them.
 */
import { ZodError, type z } from "zod";
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
  /**
   * Sections other than mqtt that are invalid and run on their defaults instead (DEFAULTABLE): the
   * sections, and the one-line error naming each bad field. The button works; the fault is reported.
   */
  readonly defaulted?: { readonly sections: readonly string[]; readonly problem: string };
}

/**
 * Sections the button, the outbox and the alarm do not need to be right: an invalid one runs on its
 * defaults (lights off, default prompts and timings…) and is reported, rather than leaving the kiosk
 * with no button at all. The kiosk id, its location, the data folder and the button driver are needed.
 */
const DEFAULTABLE = new Set(["name", "indicator", "press", "audio", "media", "faultAfterLinkDownMs", "alerts", "reconnect", "log", "health", "modem", "fallback", "update"]);

/**
 * Sections a whole-config rule ties to another: an invalid `fallback` (no centre number, no SMS key)
 * is dropped with the `modem` that needs it, else the modem's rule fails on the defaults just the same.
 */
const DROPPED_WITH: Readonly<Record<string, readonly string[]>> = { fallback: ["modem"] };

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
  const section = (issue: z.core.$ZodIssue): string => String(issue.path[0]);
  if (!isObject(raw) || !error.issues.every((issue) => section(issue) === "mqtt" || DEFAULTABLE.has(section(issue)))) throw new SosError(ErrorCode.ConfigInvalid, invalid(error));
  // The whole-config rules (a modem needs numbers, lights on the button's board…) run only once every
  // field parses: they are checked now, with the placeholder and the defaults, and reported beside.
  const bad = [...new Set(error.issues.flatMap((issue) => [section(issue), ...(DROPPED_WITH[section(issue)] ?? []).filter((key) => isObject(raw) && key in raw)]))];
  const mended: Record<string, unknown> = { ...raw };
  for (const key of bad) {
    if (key === "mqtt") mended.mqtt = LINK_OFF_MQTT;
    else delete mended[key];
  }
  const rest = kioskConfigError(mended);
  if (rest !== null) {
    // Each problem once: a rule that failed before the sections were dropped fails the same way after.
    const key = (issue: z.core.$ZodIssue): string => `${issue.path.join(".")}\u0000${issue.message}`;
    const said = new Set(error.issues.map(key));
    const more = rest.issues.filter((issue) => !said.has(key(issue)));
    throw new SosError(ErrorCode.ConfigInvalid, more.length === 0 ? invalid(error) : invalid(error, new ZodError(more)));
  }
  const parsed = parseKioskConfig(mended, path);
  const only = (keep: (issue: z.core.$ZodIssue) => boolean): z.ZodError => new ZodError(error.issues.filter(keep));
  const linkBad = bad.includes("mqtt");
  const others = bad.filter((key) => key !== "mqtt");
  return {
    config: resolveKioskConfig(parsed, path, overrides),
    ...(linkBad ? { linkProblem: invalid(only((i) => section(i) === "mqtt")) } : {}),
    ...(others.length > 0 ? { defaulted: { sections: others, problem: invalid(only((i) => section(i) !== "mqtt")) } } : {}),
    unknownKeys: unknownKeys(Object.fromEntries(Object.entries(raw).filter(([key]) => !bad.includes(key))), parsed),
  };
}

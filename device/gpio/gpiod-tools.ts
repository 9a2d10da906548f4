/**
 * The libgpiod v1.6 command-line tools (Debian bookworm package `gpiod` 1.6.3) as the gpiod drivers
 * run them: command lines, output parsing, chip lookup, and reporting a tool that is not installed.
 *
 *   gpiodetect                              → "gpiochip0 [pinctrl-bcm2711] (58 lines)" per chip
 *   gpiomon -b [-l] -B <bias> -F '%o %e %s %n' <chip> <line> [<tamperLine>]
 *                                           → "17 1 5231 4064211" per edge: offset, 1 rising / 0
 *                                             falling (active level with -l), seconds, nanoseconds
 *   gpioset --mode=signal [-l] <chip> <line>=<0|1> …   holds the values until SIGTERM/SIGINT
 *   gpioset --mode=exit [-l] <chip> <line>=0 …         sets them and exits (lights off at stop)
 *
 * gpiomon's -b (line-buffered stdout) matters: on a pipe its stdout is otherwise block-buffered and
 * edges would arrive in bursts of 4 KiB. The chip argument may be gpiochipN, N, /dev/gpiochipN or a
 * label (libgpiod 1.6's gpiod_chip_open_lookup); "auto" is resolved here from gpiodetect's output.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { HEADER_CHIP_LABELS, describeChips, isHeaderChipLabel } from "./chip-base.js";

const execFileAsync = promisify(execFile);

export interface DetectedChip {
  readonly name: string;
  readonly label: string;
  readonly lines: number;
}

/** Parses gpiodetect's output; lines in another shape are skipped. */
export function parseGpiodetect(output: string): DetectedChip[] {
  const chips: DetectedChip[] = [];
  for (const text of output.split("\n")) {
    const m = /^(\S+) \[(.*)\] \((\d+) lines?\)\s*$/.exec(text.trim());
    if (m !== null) chips.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return chips;
}

/** The chip argument for gpiomon/gpioset: the configured one, or for "auto" the header chip's name. */
export async function resolveGpiodChip(chip: string, gpiodetect: string, timeoutMs = 5_000): Promise<string> {
  if (chip !== "auto") return chip;
  const { stdout: output } = await execFileAsync(gpiodetect, [], { timeout: timeoutMs, encoding: "utf8" });
  const chips = parseGpiodetect(output);
  const header = chips.find((c) => isHeaderChipLabel(c.label));
  if (header === undefined) {
    throw new SosError(
      ErrorCode.ConfigInvalid,
      `no Raspberry Pi header GPIO chip (${HEADER_CHIP_LABELS.join(", ")}) in the output of ${gpiodetect} (found: ${describeChips(chips)}); check that this is a Raspberry Pi and that /dev/gpiochip* is readable, or set chip to a gpiochipN or label`,
    );
  }
  return header.name;
}

export const GPIOMON_FORMAT = "%o %e %s %n";

export interface GpiomonArgs {
  readonly chip: string;
  readonly lines: readonly number[];
  readonly activeLow: boolean;
  readonly bias: "pull-up" | "pull-down" | "disable" | "as-is";
}

export function gpiomonArgs(a: GpiomonArgs): string[] {
  return ["-b", ...(a.activeLow ? ["-l"] : []), "-B", a.bias, "-F", GPIOMON_FORMAT, a.chip, ...a.lines.map(String)];
}

export interface GpiomonEvent {
  readonly offset: number;
  /** Rising edge: the line went active (with -l, to 0 V). */
  readonly rising: boolean;
  /** The kernel's event timestamp, for logs (CLOCK_MONOTONIC on current kernels, not wall time). */
  readonly sec: number;
  readonly nsec: number;
}

/** One line of gpiomon output in GPIOMON_FORMAT; undefined for anything else. */
export function parseGpiomonLine(text: string): GpiomonEvent | undefined {
  const m = /^(\d+) ([01]) (\d+) (\d+)$/.exec(text.trim());
  if (m === null) return undefined;
  return { offset: Number(m[1]), rising: m[2] === "1", sec: Number(m[3]), nsec: Number(m[4]) };
}

export function gpiosetArgs(mode: "signal" | "exit", chip: string, activeLow: boolean, values: readonly (readonly [number, 0 | 1])[]): string[] {
  return [`--mode=${mode}`, ...(activeLow ? ["-l"] : []), chip, ...values.map(([line, v]) => `${line}=${v}`)];
}

export const isMissingTool = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";

/**
 * Logs a tool that is not installed (ENOENT) once, clearly, until it has been seen to work again;
 * the retries go on quietly (the supervisor logs each restart at warn).
 */
export class MissingToolReport {
  private reported = false;

  constructor(
    private readonly log: Logger,
    private readonly tool: string,
    private readonly path: string,
    private readonly configKey: string,
  ) {}

  /** Logs the first time (returns true); quiet after that until found() is called. */
  missing(retryInMs?: number): boolean {
    if (this.reported) return false;
    this.reported = true;
    this.log.error(
      { tool: this.tool, path: this.path, configKey: this.configKey, retryInMs },
      "gpiod tool not found: install the Debian package gpiod (apt install gpiod) or set its path in the config; retrying with backoff",
    );
    return true;
  }

  found(): void {
    if (this.reported) this.log.info({ tool: this.tool, path: this.path }, "gpiod tool found");
    this.reported = false;
  }
}

/**
 * Finds the Raspberry Pi's 40-pin header GPIO chip and turns a BCM line number (GPIO17 = 17) into
 * the number sysfs GPIO (and onoff) expects: the chip's base plus the line.
 *
 * The base is not fixed: 0 on older kernels, 512 on a Pi 4 with kernel >= 6.6, 571 on a Pi 5 with
 * Bookworm (fivdi/onoff#199, #200; raspberrypi/linux#6084), so it is read at run time from
 * `${sysfsRoot}/gpiochipN/base` and `label`. Other chips on the same board (the firmware's
 * raspberrypi-exp-gpio, the Pi 5's gpio-brcmstb@…) are never picked.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ErrorCode, SosError } from "../../shared/errors.js";

/** Labels of the chip wired to the header: Pi 1-3 and Zero, Pi 4/400/CM4, Pi 5 (RP1). */
export const HEADER_CHIP_LABELS: readonly string[] = ["pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-rp1"];

export const isHeaderChipLabel = (label: string): boolean => HEADER_CHIP_LABELS.includes(label.trim());

export interface SysfsChip {
  /** Directory name, e.g. gpiochip512. */
  readonly name: string;
  readonly base: number;
  readonly label: string;
  /** Number of lines, where sysfs says (the `ngpio` file). */
  readonly ngpio?: number;
}

export interface SysfsGpio {
  /** The number to export: chip base + BCM line. */
  readonly gpio: number;
  readonly chip: SysfsChip;
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return undefined;
  }
}

/** Every gpiochipN under sysfsRoot that has a readable numeric base, sorted by base. */
export async function listSysfsChips(sysfsRoot: string): Promise<SysfsChip[]> {
  const names = (await readdir(sysfsRoot)).filter((n) => /^gpiochip\d+$/.test(n));
  const chips: SysfsChip[] = [];
  for (const name of names) {
    const base = Number(await readTrimmed(join(sysfsRoot, name, "base")));
    if (!Number.isInteger(base) || base < 0) continue;
    const label = (await readTrimmed(join(sysfsRoot, name, "label"))) ?? "";
    const ngpio = Number(await readTrimmed(join(sysfsRoot, name, "ngpio")));
    chips.push(Number.isInteger(ngpio) && ngpio > 0 ? { name, base, label, ngpio } : { name, base, label });
  }
  return chips.sort((a, b) => a.base - b.base);
}

export const describeChips = (chips: readonly { name: string; label: string }[]): string =>
  chips.length === 0 ? "no gpiochip entries" : chips.map((c) => `${c.name} [${c.label}]`).join(", ");

/**
 * The sysfs GPIO number of BCM `line` on the header chip. Throws SosError CONFIG_INVALID, one line
 * saying what was found, when there is no header chip or the line is beyond it.
 */
export async function sysfsGpioNumber(sysfsRoot: string, line: number): Promise<SysfsGpio> {
  let chips: SysfsChip[];
  try {
    chips = await listSysfsChips(sysfsRoot);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? `${sysfsRoot} does not exist` : `cannot read ${sysfsRoot}`;
    throw new SosError(
      ErrorCode.ConfigInvalid,
      `no Raspberry Pi header GPIO chip found (${why}); check that this is a Raspberry Pi whose kernel has sysfs GPIO (CONFIG_GPIO_SYSFS) and that sysfsRoot is right, or use the "gpiod" driver`,
      { cause: err },
    );
  }
  const chip = chips.find((c) => isHeaderChipLabel(c.label));
  if (chip === undefined) {
    throw new SosError(
      ErrorCode.ConfigInvalid,
      `no Raspberry Pi header GPIO chip (${HEADER_CHIP_LABELS.join(", ")}) under ${sysfsRoot} (found: ${describeChips(chips)}); check that this is a Raspberry Pi with sysfs GPIO enabled and that sysfsRoot is right, or use the "gpiod" driver`,
    );
  }
  if (chip.ngpio !== undefined && line >= chip.ngpio) {
    throw new SosError(ErrorCode.ConfigInvalid, `GPIO line ${line} is beyond ${chip.name} [${chip.label}], which has ${chip.ngpio} lines; check the BCM line number in the config`);
  }
  return { gpio: chip.base + line, chip };
}

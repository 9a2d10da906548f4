import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isHeaderChipLabel, listSysfsChips, sysfsGpioNumber } from "../../device/gpio/chip-base.js";
import { ErrorCode, isSosError, type SosError } from "../../shared/errors.js";
import { PI4_KERNEL_6_6, fakeSysfs, type SysfsChipSpec } from "../fixtures/fake-gpio.js";

const PI4_KERNEL_6_1: SysfsChipSpec[] = [
  { base: 0, label: "pinctrl-bcm2711", ngpio: 58 },
  { base: 504, label: "raspberrypi-exp-gpio", ngpio: 8 },
];

/** Pi 5, Bookworm: four gpio-brcmstb chips (512, 544, 548, 565) below the RP1 header chip at 571. */
const PI5: SysfsChipSpec[] = [
  { base: 512, label: "gpio-brcmstb@107d508500", ngpio: 32 },
  { base: 544, label: "gpio-brcmstb@107d508520", ngpio: 4 },
  { base: 548, label: "gpio-brcmstb@107d517c00", ngpio: 17 },
  { base: 565, label: "gpio-brcmstb@107d517c20", ngpio: 6 },
  { base: 571, label: "pinctrl-rp1", ngpio: 54 },
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tree(chips: readonly SysfsChipSpec[]): Promise<string> {
  const t = await fakeSysfs(chips);
  cleanups.push(t.cleanup);
  return t.root;
}

async function failure(promise: Promise<unknown>): Promise<SosError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSosError(err)) throw new Error(`expected a SosError, got ${String(err)}`);
  return err;
}

describe("sysfsGpioNumber", () => {
  it("Pi 4 on kernel 6.1: the header chip is at base 0, so GPIO17 is 17; the firmware expander at 504 is not picked", async () => {
    const root = await tree(PI4_KERNEL_6_1);
    const found = await sysfsGpioNumber(root, 17);
    expect(found.gpio).toBe(17);
    expect(found.chip).toEqual({ name: "gpiochip0", base: 0, label: "pinctrl-bcm2711", ngpio: 58 });
    expect((await sysfsGpioNumber(root, 0)).gpio).toBe(0);
  });

  it("Pi 4 on kernel 6.6: base 512, so GPIO17 is 529; raspberrypi-exp-gpio at 570 is not picked", async () => {
    const root = await tree(PI4_KERNEL_6_6);
    expect(await sysfsGpioNumber(root, 17)).toMatchObject({ gpio: 529, chip: { name: "gpiochip512", label: "pinctrl-bcm2711" } });
    expect((await sysfsGpioNumber(root, 27)).gpio).toBe(539);
  });

  it("Pi 5: the RP1 chip at 571 is picked over the gpio-brcmstb chips at 512..565, so GPIO17 is 588", async () => {
    const root = await tree(PI5);
    expect(await sysfsGpioNumber(root, 17)).toMatchObject({ gpio: 588, chip: { name: "gpiochip571", label: "pinctrl-rp1", base: 571 } });
  });

  it("Pi 1-3 (pinctrl-bcm2835) is recognised too", async () => {
    const root = await tree([{ base: 0, label: "pinctrl-bcm2835", ngpio: 54 }]);
    expect((await sysfsGpioNumber(root, 4)).gpio).toBe(4);
  });

  it("an empty tree: CONFIG_INVALID, one line, saying nothing was found and what to check", async () => {
    const root = await tree([]);
    const err = await failure(sysfsGpioNumber(root, 17));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain(root);
    expect(err.message).toContain("found: no gpiochip entries");
    expect(err.message).toMatch(/check .*sysfs GPIO/);
    expect(err.message).toContain('"gpiod" driver');
  });

  it("a board without a header chip: the error lists what was found", async () => {
    const root = await tree([
      { base: 504, label: "raspberrypi-exp-gpio", ngpio: 8 },
      { base: 512, label: "gpio-brcmstb@107d508500", ngpio: 32 },
    ]);
    const err = await failure(sysfsGpioNumber(root, 17));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain("found: gpiochip504 [raspberrypi-exp-gpio], gpiochip512 [gpio-brcmstb@107d508500]");
    expect(err.message).toContain("pinctrl-bcm2835, pinctrl-bcm2711, pinctrl-rp1");
  });

  it("a missing sysfs root: CONFIG_INVALID saying it does not exist", async () => {
    const root = await mkdtemp(join(tmpdir(), "sos-nosysfs-"));
    await rm(root, { recursive: true });
    const err = await failure(sysfsGpioNumber(root, 17));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain(`${root} does not exist`);
    expect(err.message).not.toContain("\n");
  });

  it("a line beyond the header chip is refused", async () => {
    const root = await tree([{ base: 0, label: "pinctrl-bcm2835", ngpio: 54 }]);
    const err = await failure(sysfsGpioNumber(root, 54));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain("GPIO line 54 is beyond gpiochip0 [pinctrl-bcm2835], which has 54 lines");
  });
});

describe("listSysfsChips / isHeaderChipLabel", () => {
  it("lists chips by base and ignores entries that are not gpiochipN or have no base", async () => {
    const root = await tree(PI5);
    const chips = await listSysfsChips(root);
    expect(chips.map((c) => c.base)).toEqual([512, 544, 548, 565, 571]);
    expect(chips.map((c) => c.name)).not.toContain("export");
  });

  it("knows the header chips and no others", () => {
    for (const label of ["pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-rp1", "pinctrl-rp1\n"]) expect(isHeaderChipLabel(label)).toBe(true);
    for (const label of ["raspberrypi-exp-gpio", "gpio-brcmstb@107d508500", "brcmvirt-gpio", "rp1", ""]) expect(isHeaderChipLabel(label)).toBe(false);
  });
});

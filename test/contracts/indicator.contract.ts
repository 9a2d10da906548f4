/**
 * The contract every Indicator driver meets (none, gpio, gpiod, firmata, serial), run from each
 * driver's test file: `describeIndicatorContract("gpio", makeHarness)`. The harness reads the fake
 * hardware's outputs (fake Gpio values, fake gpioset's lines, mock-firmata pins, serial writes).
 */
import { afterEach, describe, expect, it } from "vitest";
import { BEEP_MS, type Indicator } from "../../device/indicators/indicator.js";

export interface LightsRead {
  readonly yellow: boolean;
  readonly green: boolean;
  /** undefined when the driver has no buzzer wired. */
  readonly buzzer?: boolean;
}

export interface IndicatorHarness {
  readonly indicator: Indicator;
  /** What the fake hardware shows now. */
  read(): Promise<LightsRead> | LightsRead;
  readonly hasBuzzer: boolean;
  cleanup?(): Promise<void> | void;
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function describeIndicatorContract(name: string, makeHarness: () => Promise<IndicatorHarness> | IndicatorHarness): void {
  describe(`Indicator contract: ${name}`, () => {
    let harness: IndicatorHarness | undefined;
    afterEach(async () => {
      await harness?.indicator.stop();
      await harness?.cleanup?.();
      harness = undefined;
    });

    it("shows each steady pattern on the hardware", async () => {
      const h = (harness = await makeHarness());
      await h.indicator.start();
      const cases = [
        { yellow: "on", green: "off" },
        { yellow: "on", green: "on" },
        { yellow: "off", green: "off" },
      ] as const;
      for (const c of cases) {
        h.indicator.show(c);
        await eventually(async () => {
          const r = await h.read();
          return r.yellow === (c.yellow === "on") && r.green === (c.green === "on");
        }, `yellow ${c.yellow}, green ${c.green}`);
      }
    });

    it("blinks: a blinking light is seen both on and off within two seconds, and stops when told", async () => {
      const h = (harness = await makeHarness());
      await h.indicator.start();
      h.indicator.show({ yellow: "blink", green: "off" });
      const seen = new Set<boolean>();
      await eventually(async () => {
        seen.add((await h.read()).yellow);
        return seen.size === 2;
      }, "yellow on and off while blinking");
      h.indicator.show({ yellow: "off", green: "off" });
      await eventually(async () => !(await h.read()).yellow, "yellow off");
      await new Promise((r) => setTimeout(r, 700));
      expect((await h.read()).yellow).toBe(false);
    });

    it("beeps: the buzzer sounds and falls silent again", async () => {
      const h = (harness = await makeHarness());
      await h.indicator.start();
      h.indicator.beep(BEEP_MS);
      if (!h.hasBuzzer) return; // beep() on a driver without a buzzer must simply not throw
      await eventually(async () => (await h.read()).buzzer === true, "buzzer on");
      await eventually(async () => (await h.read()).buzzer === false, "buzzer off");
    });

    it("can be stopped twice, and before it started", async () => {
      harness = await makeHarness();
      await harness.indicator.stop();
      await harness.indicator.start();
      await harness.indicator.stop();
      await harness.indicator.stop();
    });
  });
}

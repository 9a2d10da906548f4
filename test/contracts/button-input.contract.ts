/**
 * The contract every ButtonInput driver meets, run against each one (stdin, gpio, gpiod, firmata,
 * serial) from its own test file: `describeButtonInputContract("gpio", makeHarness)`.
 * The harness drives the driver's fake hardware (fake Gpio class, fake gpiomon, mock-firmata,
 * @serialport/binding-mock) the way a real contact would.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ButtonEvent, ButtonInput } from "../../device/inputs/button.js";

export interface ButtonHarness {
  readonly button: ButtonInput;
  /** Close the contact on the fake hardware. */
  press(): Promise<void> | void;
  /** Open it again. */
  release(): Promise<void> | void;
  cleanup?(): Promise<void> | void;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function describeButtonInputContract(name: string, makeHarness: () => Promise<ButtonHarness> | ButtonHarness): void {
  describe(`ButtonInput contract: ${name}`, () => {
    let harness: ButtonHarness | undefined;
    afterEach(async () => {
      await harness?.button.stop();
      await harness?.cleanup?.();
      harness = undefined;
    });

    it("names its driver", async () => {
      harness = await makeHarness();
      expect(harness.button.driver).toMatch(/^[a-z]+$/);
    });

    it("turns one closing of the contact into one press and its opening into one release, in order", async () => {
      harness = await makeHarness();
      const events: { kind: string; at: Date }[] = [];
      harness.button.on("press", (e: ButtonEvent) => events.push({ kind: "press", at: e.at }));
      harness.button.on("release", (e: ButtonEvent) => events.push({ kind: "release", at: e.at }));
      await harness.button.start();
      await harness.press();
      await until(() => events.length >= 1, "press");
      await harness.release();
      await until(() => events.length >= 2, "release");
      await new Promise((r) => setTimeout(r, 100)); // nothing more may follow
      expect(events.map((e) => e.kind)).toEqual(["press", "release"]);
      expect(events[0]?.at).toBeInstanceOf(Date);
      expect(events[1]!.at.getTime()).toBeGreaterThanOrEqual(events[0]!.at.getTime());
    });

    it("reports two separate presses as two presses", async () => {
      harness = await makeHarness();
      let presses = 0;
      harness.button.on("press", () => {
        presses += 1;
      });
      await harness.button.start();
      for (let i = 0; i < 2; i += 1) {
        await harness.press();
        await until(() => presses === i + 1, `press ${i + 1}`);
        await harness.release();
        await new Promise((r) => setTimeout(r, 60));
      }
      expect(presses).toBe(2);
    });

    it("emits nothing after stop()", async () => {
      harness = await makeHarness();
      let events = 0;
      harness.button.on("press", () => (events += 1));
      harness.button.on("release", () => (events += 1));
      await harness.button.start();
      await harness.button.stop();
      try {
        await harness.press();
      } catch {
        // a stopped driver may have released the fake hardware entirely
      }
      await new Promise((r) => setTimeout(r, 150));
      expect(events).toBe(0);
    });

    it("can be stopped twice, and before it started", async () => {
      harness = await makeHarness();
      await harness.button.stop();
      await harness.button.start();
      await harness.button.stop();
      await harness.button.stop();
    });
  });
}

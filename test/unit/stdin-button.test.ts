import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StdinButton } from "../../device/inputs/stdin.js";
import { systemClock } from "../../shared/clock.js";
import { describeButtonInputContract } from "../contracts/button-input.contract.js";

describeButtonInputContract("stdin", () => {
  const input = new PassThrough();
  const button = new StdinButton(input, systemClock, { enterIsPress: false });
  return {
    button,
    press: () => {
      input.write("down\n");
    },
    release: () => {
      input.write("up\n");
    },
    cleanup: () => {
      input.end();
    },
  };
});

describe("StdinButton lines", () => {
  const T0 = new Date("2025-01-02T03:00:00.000Z").getTime();
  let input: PassThrough;
  let button: StdinButton | undefined;
  let events: { kind: "press" | "release"; at: number }[];

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    input = new PassThrough();
    events = [];
  });

  afterEach(async () => {
    await button?.stop();
    button = undefined;
    input.end();
    vi.useRealTimers();
  });

  let hints: string[] = [];
  const start = async (enterIsPress = false): Promise<void> => {
    hints = [];
    await button?.stop();
    button = new StdinButton(input, systemClock, { enterIsPress, unknown: (hint) => hints.push(hint) });
    button.on("press", (e) => events.push({ kind: "press", at: e.at.getTime() }));
    button.on("release", (e) => events.push({ kind: "release", at: e.at.getTime() }));
    await button.start();
  };
  /** Types a line and lets readline deliver it (streams run on nextTick, which stays real). */
  const type = async (line: string): Promise<void> => {
    input.write(`${line}\n`);
    await vi.advanceTimersByTimeAsync(0);
  };

  it('"press" gives a press, then a release 100 ms later', async () => {
    await start();
    await type("press");
    expect(events).toEqual([{ kind: "press", at: T0 }]);
    await vi.advanceTimersByTimeAsync(99);
    expect(events).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual([
      { kind: "press", at: T0 },
      { kind: "release", at: T0 + 100 },
    ]);
  });

  it("Enter alone without enterIsPress is no press, and says once how to press; an unknown word says what the words are", async () => {
    await start();
    await type("");
    await type("");
    expect(events).toEqual([]);
    expect(hints).toEqual(["Enter alone is not a press on this kiosk: type 'press' and Enter, or start it with --enter-is-press"]);
    await start();
    await type("presss");
    await type("");
    expect(events).toEqual([]);
    expect(hints).toEqual(["'presss' is not a button command: type 'press', 'hold N', 'down' or 'up'"]);
  });

  it('"hold 2" holds the button for 2 s', async () => {
    await start();
    await type("hold 2");
    await vi.advanceTimersByTimeAsync(1_999);
    expect(events).toEqual([{ kind: "press", at: T0 }]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual([
      { kind: "press", at: T0 },
      { kind: "release", at: T0 + 2_000 },
    ]);
  });

  it('"hold 31" holds past the 30 s bypass time', async () => {
    await start();
    await type("hold 31");
    await vi.advanceTimersByTimeAsync(30_999);
    expect(events.map((e) => e.kind)).toEqual(["press"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.kind)).toEqual(["press", "release"]);
  });

  it("words are case-insensitive and may carry spaces and a CR", async () => {
    await start();
    await type("  PRESS \r");
    await vi.advanceTimersByTimeAsync(100);
    expect(events.map((e) => e.kind)).toEqual(["press", "release"]);
  });

  it('"down" and "up" move the contact by hand', async () => {
    await start();
    await type("down");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events).toEqual([{ kind: "press", at: T0 }]);
    await type("up");
    expect(events).toEqual([
      { kind: "press", at: T0 },
      { kind: "release", at: T0 + 5_000 },
    ]);
  });

  it("an empty line is a press only with enterIsPress", async () => {
    await start(true);
    await type("");
    await vi.advanceTimersByTimeAsync(100);
    expect(events.map((e) => e.kind)).toEqual(["press", "release"]);
  });

  it("an empty line does nothing without enterIsPress", async () => {
    await start(false);
    await type("");
    await type("   ");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(events).toEqual([]);
  });

  it("unknown lines do nothing (nor a hold without a valid number of seconds)", async () => {
    await start(true);
    for (const line of ["hello", "pres", "presses", "hold", "hold 0", "hold -3", "hold x", "release", "sos"]) await type(line);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual([]);
  });

  it("stop() during a hold cancels its release, and later lines do nothing", async () => {
    await start();
    await type("hold 5");
    await button!.stop();
    await type("press");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events.map((e) => e.kind)).toEqual(["press"]);
  });
});

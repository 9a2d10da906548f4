/**
 * FirmataPanel with a fake board process (test/fixtures/fake-firmata-child.js) forked through the
 * real Supervisor: the IPC, the restart after an unplug and the light state re-sent after it.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_FIRMATA_ENTRY, FirmataPanel } from "../../device/inputs/firmata/driver.js";
import { childMessageSchema, parentMessageSchema } from "../../device/inputs/firmata/ipc.js";
import { describeButtonInputContract } from "../contracts/button-input.contract.js";
import { describeIndicatorContract } from "../contracts/indicator.contract.js";
import { LogCapture } from "../fixtures/log-capture.js";

const FAKE_CHILD = fileURLToPath(new URL("../fixtures/fake-firmata-child.js", import.meta.url));

interface Rig {
  readonly panel: FirmataPanel;
  readonly dir: string;
  readonly logs: LogCapture;
  /** Sends a test control message to the current fake board process (throws when there is none). */
  control(message: Record<string, unknown>): void;
  outputs(): { yellow: boolean; green: boolean; buzzer: boolean; pid?: number };
  readonly cleanup: () => void;
}

function rig(): Rig {
  const dir = mkdtempSync(join(tmpdir(), "fake-firmata-"));
  const logs = new LogCapture();
  const panel = new FirmataPanel({
    button: { path: "/dev/serial/by-id/usb-Arduino_Uno_FAKE-if00", baudRate: 57_600, pin: 2, pullup: true },
    lights: { yellowPin: 11, greenPin: 12, buzzerPin: 8 },
    log: logs.logger("firmata-driver-test", "debug"),
    entry: FAKE_CHILD,
    env: { FAKE_FIRMATA_DIR: dir },
    restart: { minMs: 50, maxMs: 200, factor: 2, jitter: 0 },
  });
  return {
    panel,
    dir,
    logs,
    control(message) {
      const child = panel.supervisor.current;
      if (child === undefined || !child.connected) throw new Error("no board process");
      child.send(message);
    },
    outputs() {
      try {
        return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { yellow: boolean; green: boolean; buzzer: boolean; pid: number };
      } catch {
        return { yellow: false, green: false, buzzer: false };
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeButtonInputContract("firmata", () => {
  const r = rig();
  const control = async (type: string): Promise<void> => {
    await until(() => r.panel.isReady || r.panel.supervisor.current === undefined, "board ready");
    r.control({ type });
  };
  return { button: r.panel, press: () => control("test:press"), release: () => control("test:release"), cleanup: r.cleanup };
});

describeIndicatorContract("firmata", () => {
  const r = rig();
  return { indicator: r.panel, hasBuzzer: true, read: () => r.outputs(), cleanup: r.cleanup };
});

describe("firmata IPC messages", () => {
  it("accepts the messages of each direction and refuses others", () => {
    expect(childMessageSchema.parse({ type: "tamper", open: true })).toEqual({ type: "tamper", open: true });
    expect(childMessageSchema.safeParse({ type: "tamper" }).success).toBe(false);
    expect(childMessageSchema.safeParse({ type: "lights", yellow: "on", green: "on" }).success).toBe(false);
    expect(parentMessageSchema.parse({ type: "lights", yellow: "blink", green: "off" })).toMatchObject({ yellow: "blink" });
    expect(parentMessageSchema.safeParse({ type: "beep", durationMs: 0 }).success).toBe(false);
  });

  it("forks the compiled child next to the driver by default", () => {
    expect(DEFAULT_FIRMATA_ENTRY).toMatch(/[/\\]device[/\\]inputs[/\\]firmata[/\\]child\.js$/);
  });
});

describe("FirmataPanel", () => {
  let current: Rig | undefined;
  afterEach(async () => {
    await current?.panel.stop();
    current?.cleanup();
    current = undefined;
  });

  it("restarts the board process after an unplug, re-sends the lights, and presses work again", async () => {
    const r = (current = rig());
    const kinds: string[] = [];
    const errors: Error[] = [];
    r.panel.on("press", () => kinds.push("press"));
    r.panel.on("release", () => kinds.push("release"));
    r.panel.on("error", (err) => errors.push(err));
    r.panel.show({ yellow: "on", green: "off" });
    await r.panel.start();
    await until(() => r.panel.isReady && r.outputs().yellow, "first board ready with yellow on");
    expect(r.panel.firmware).toBe("FakeFirmata 0.1");
    const firstPid = r.panel.supervisor.current?.pid;
    r.control({ type: "test:press" });
    await until(() => kinds.length === 1, "press");

    r.control({ type: "test:unplug" });
    await until(() => kinds.length === 2, "release assumed when the board went away");
    expect(errors.map((e) => e.message)).toEqual(["board connection closed"]);
    r.panel.show({ yellow: "on", green: "on" }); // changed while the board is away
    await until(() => r.panel.isReady && r.panel.supervisor.current?.pid !== firstPid, "restarted board ready");
    await until(() => r.outputs().yellow && r.outputs().green, "lights re-sent to the new process");
    expect(r.panel.supervisor.restarts).toBe(1);

    r.control({ type: "test:press" });
    r.control({ type: "test:release" });
    await until(() => kinds.length === 4, "press and release after the restart");
    expect(kinds).toEqual(["press", "release", "press", "release"]);
  });

  it("keeps retrying while the board is missing, reporting the outage once, and recovers", async () => {
    const r = (current = rig());
    const errors: Error[] = [];
    r.panel.on("error", (err) => errors.push(err));
    writeFileSync(join(r.dir, "unplugged"), "");
    await r.panel.start();
    await until(() => r.panel.supervisor.restarts >= 3, "three failed starts");
    expect(r.panel.isReady).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "ENOENT" });
    unlinkSync(join(r.dir, "unplugged"));
    await until(() => r.panel.isReady, "ready once plugged in");
    expect(r.logs.find("firmata board ready")).toHaveLength(1);
  });

  it("reports a board process that dies without a word, and restarts it", async () => {
    const r = (current = rig());
    const errors: Error[] = [];
    r.panel.on("error", (err) => errors.push(err));
    await r.panel.start();
    await until(() => r.panel.isReady, "ready");
    r.control({ type: "test:crash" });
    await until(() => errors.length === 1, "error");
    expect(errors[0]?.message).toBe("firmata board process exited (code 3, signal null)");
    await until(() => r.panel.isReady, "ready again");
  });

  it("forwards tamper changes once and ignores invalid messages", async () => {
    const r = (current = rig());
    const tamper: boolean[] = [];
    r.panel.on("tamper", (e) => tamper.push(e.open));
    await r.panel.start();
    await until(() => r.panel.isReady, "ready");
    for (const open of [true, true, false]) r.control({ type: "test:tamper", open });
    r.control({ type: "test:garbage" });
    await until(() => r.logs.find("invalid message from the firmata board process ignored").length === 1, "garbage logged");
    expect(tamper).toEqual([true, false]);
  });

  it("switches the lights off when stopped, and is shared by both roles", async () => {
    const r = (current = rig());
    await r.panel.start();
    await r.panel.start();
    r.panel.show({ yellow: "on", green: "on" });
    await until(() => r.panel.isReady && r.outputs().green, "lights on");
    await r.panel.stop();
    expect(r.panel.supervisor.current).toBeDefined();
    await r.panel.stop();
    expect(r.panel.supervisor.current).toBeUndefined();
    expect(r.outputs()).toMatchObject({ yellow: false, green: false });
  });
});

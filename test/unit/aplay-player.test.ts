import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AplayPlayer, type AplayPlayerOptions, defaultPromptsDir, promptPath } from "../../device/audio/aplay.js";
import type { PromptName } from "../../device/audio/player.js";
import { encodePcm16, scaleWav } from "../../device/audio/wav.js";
import { LogCapture } from "../fixtures/log-capture.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fakeAplay = join(root, "test/fixtures/bin/fake-aplay.js");

interface FakeEvent {
  event: "start" | "stdin-end" | "exit" | "sigterm-ignored";
  n: number;
  pid: number;
  args: string[];
}

let dir: string;
let logs: LogCapture;
let player: AplayPlayer | undefined;

const setMode = (mode: "ok" | "fail" | "hang" | "hang-hard"): void => writeFileSync(join(dir, "mode"), mode);
const setDelay = (ms: number): void => writeFileSync(join(dir, "delay-ms"), String(ms));
const events = (): FakeEvent[] => {
  try {
    return readFileSync(join(dir, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as FakeEvent);
  } catch {
    return [];
  }
};
const received = (n: number): Buffer => readFileSync(join(dir, `${n}.wav`));
const expected = (prompt: PromptName, volume = 50): Buffer => scaleWav(readFileSync(promptPath(defaultPromptsDir(), "ru", prompt)), volume);

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function makePlayer(options: Partial<AplayPlayerOptions> = {}): AplayPlayer {
  player = new AplayPlayer({ language: "ru", volume: 50, aplayPath: fakeAplay, ...options }, logs.logger("audio", "debug"));
  return player;
}

const count = (msg: string, level?: string): number => logs.find(msg, (l) => level === undefined || l.level === level).length;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fake-aplay-"));
  process.env.FAKE_APLAY_DIR = dir;
  logs = new LogCapture();
});

afterEach(async () => {
  await player?.stop();
  player = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("AplayPlayer", () => {
  it("pipes the prompt, scaled by the volume, to aplay -q -D <device> -", async () => {
    const p = makePlayer({ device: "plughw:1,0" });
    p.play("connecting");
    await waitFor("playback", () => p.played === 1);
    expect(events()[0]?.args).toEqual(["-q", "-D", "plughw:1,0", "-"]);
    expect(received(1).equals(expected("connecting"))).toBe(true);
    expect(count("voice prompt played", "debug")).toBe(1);
  });

  it("uses the default ALSA device when none is configured", async () => {
    const p = makePlayer({ volume: 100 });
    p.play("alarm-sent");
    await waitFor("playback", () => p.played === 1);
    expect(events()[0]?.args).toEqual(["-q", "-"]);
    expect(received(1).equals(expected("alarm-sent", 100))).toBe(true);
  });

  it("plays prompts one after another, in order", async () => {
    setDelay(80);
    const p = makePlayer();
    const order: PromptName[] = ["alarm-sent", "connecting", "alarm-received"];
    for (const prompt of order) p.play(prompt);
    await waitFor("three playbacks", () => p.played === 3);
    order.forEach((prompt, i) => expect(received(i + 1).equals(expected(prompt))).toBe(true));
    // Never two aplays at once: each starts after the previous one exited.
    expect(events().map((e) => `${e.event}:${e.n}`)).toEqual(["start:1", "stdin-end:1", "exit:1", "start:2", "stdin-end:2", "exit:2", "start:3", "stdin-end:3", "exit:3"]);
  });

  it("keeps at most 3 waiting: drops the oldest waiting prompt and logs the count", async () => {
    setDelay(150);
    const p = makePlayer();
    const sequence: PromptName[] = ["alarm-sent", "connecting", "out-of-order", "alarm-received", "connecting", "alarm-sent"];
    for (const prompt of sequence) p.play(prompt);
    const drops = logs.find("voice prompt dropped: queue full");
    expect(drops.map((d) => [d.level, d.prompt, d.dropped])).toEqual([
      ["warn", "connecting", 1],
      ["warn", "out-of-order", 2],
    ]);
    expect(p.dropped).toBe(2);
    await waitFor("four playbacks", () => p.played === 4);
    ["alarm-sent", "alarm-received", "connecting", "alarm-sent"].forEach((prompt, i) => expect(received(i + 1).equals(expected(prompt as PromptName))).toBe(true));
  });

  it("a missing aplay is logged once with the fix; play() does not throw", async () => {
    const p = makePlayer({ aplayPath: join(dir, "no-such-aplay") });
    for (let i = 0; i < 3; i += 1) {
      expect(() => p.play("alarm-sent")).not.toThrow();
      await waitFor(`failure ${i + 1}`, () => count("aplay not found: voice prompts are silent") === i + 1);
    }
    const errors = logs.find("aplay not found: voice prompts are silent", (l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "ENOENT", prompt: "alarm-sent" });
    expect(String(errors[0]?.hint)).toContain("alsa-utils");
    expect(count("aplay not found: voice prompts are silent", "debug")).toBe(2);
  });

  it("a failing sound card is logged once, then at debug until it works again", async () => {
    setMode("fail");
    const p = makePlayer({ device: "plughw:9,0" });
    p.play("connecting");
    p.play("connecting");
    await waitFor("two failures", () => count("aplay failed: voice prompts are silent") === 2);
    const [first] = logs.find("aplay failed: voice prompts are silent", (l) => l.level === "error");
    expect(first).toMatchObject({ code: 1, device: "plughw:9,0", stderr: expect.stringContaining("audio open error") as unknown });
    expect(String(first?.hint)).toContain("aplay -l");
    expect(count("aplay failed: voice prompts are silent", "debug")).toBe(1);

    setMode("ok");
    p.play("connecting");
    await waitFor("recovery", () => p.played === 1);
    expect(logs.find("voice prompts play again")).toMatchObject([{ level: "info", failuresBefore: 2 }]);

    setMode("fail");
    p.play("connecting");
    await waitFor("new failure", () => count("aplay failed: voice prompts are silent", "error") === 2);
  });

  it("stop() kills a hanging aplay (SIGKILL when it ignores SIGTERM) and empties the queue", async () => {
    setMode("hang-hard");
    const p = makePlayer({ stopTimeoutMs: 200 });
    p.play("alarm-sent");
    p.play("connecting");
    p.play("alarm-received");
    await waitFor("aplay reading the prompt", () => events().some((e) => e.event === "stdin-end"));
    const pid = events()[0]?.pid ?? 0;
    const started = Date.now();
    await p.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(events().some((e) => e.event === "sigterm-ignored")).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(events().filter((e) => e.event === "start")).toHaveLength(1);
    expect(count("voice prompt stopped", "debug")).toBe(1);

    setMode("ok");
    p.play("connecting");
    await waitFor("a playback after stop()", () => p.played === 1);
  });

  it("kills an aplay that runs far past the prompt's length (a stuck sound card)", async () => {
    setMode("hang");
    const prompts = join(dir, "prompts");
    mkdirSync(join(prompts, "ru"), { recursive: true });
    writeFileSync(join(prompts, "ru", "connecting.wav"), encodePcm16(new Array<number>(800).fill(1_000), 16_000));
    const p = makePlayer({ promptsDir: prompts, overrunMs: 100 });
    p.play("connecting");
    await waitFor("the timeout", () => count("aplay failed: voice prompts are silent", "error") === 1);
    expect(logs.find("aplay failed: voice prompts are silent")[0]).toMatchObject({ signal: "SIGKILL", reason: "aplay did not finish within 150 ms" });
  });

  it("a missing or unusable prompt file is logged once per file and skipped", async () => {
    const prompts = join(dir, "prompts");
    mkdirSync(join(prompts, "ru"), { recursive: true });
    writeFileSync(join(prompts, "ru", "alarm-sent.wav"), Buffer.from("RIFF\0\0\0\0WAVEnot really"));
    const p = makePlayer({ promptsDir: prompts });
    expect(() => {
      p.play("connecting");
      p.play("alarm-sent");
      p.play("connecting");
    }).not.toThrow();
    await waitFor("three skipped prompts", () => count("voice prompt file unusable") === 3);
    const errors = logs.find("voice prompt file unusable", (l) => l.level === "error");
    expect(errors.map((e) => [e.prompt, e.reason])).toEqual([
      ["connecting", "ENOENT"],
      ["alarm-sent", "no fmt chunk"],
    ]);
    expect(errors[0]?.path).toBe(join(prompts, "ru", "connecting.wav"));
    expect(events()).toEqual([]);
  });
});

describe("defaultPromptsDir", () => {
  it("is the repo's device/prompts from the sources and from dist/", () => {
    expect(defaultPromptsDir()).toBe(join(root, "device", "prompts"));
    expect(defaultPromptsDir(pathToFileURL(join(root, "dist/device/audio/aplay.js")).href)).toBe(join(root, "device", "prompts"));
  });
});

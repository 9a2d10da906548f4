/**
 * Voice prompts missing from audio.promptsDir are found when the agent starts, not at the first real
 * press: the heartbeat's faults hold `audio:prompts` (degraded: the button raises alarms as ever),
 * and one error line names the folder, each missing file and the prompts the release ships.
 * audio.promptsDir is read relative to kiosk.json's folder, as dataDir is, whatever the agent's
 * working directory.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultPromptsDir } from "../../device/audio/aplay.js";
import { PROMPTS_FAULT } from "../../device/audio/prompt-files.js";
import { loadKioskConfig } from "../../shared/config/kiosk.js";
import { deferCleanups } from "./cleanups.js";
import { startTestKiosk, tempDir, waitFor } from "./harness.js";

describe("missing voice prompts are a fault from the agent's start", () => {
  const defer = deferCleanups();

  it("reports audio:prompts, with the folder, the files and the release's prompts, before any press", async () => {
    const dir = tempDir("sos-prompts-");
    defer(() => dir.remove());
    // kiosk.json names its prompts folder relative to itself; the folder is empty.
    mkdirSync(join(dir.path, "voice", "kk"), { recursive: true });
    const file = join(dir.path, "kiosk.json");
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        kioskId: "kz-voice-0001",
        location: { lat: 43.25, lon: 76.95, address: "km 4" },
        mqtt: { url: "mqtt://127.0.0.1:9", username: "kz-voice-0001", password: "pw-123456" },
        audio: { player: "aplay", language: "kk", promptsDir: "voice" },
      }),
    );
    const config = loadKioskConfig(file);
    expect(config.audio.promptsDir).toBe(join(dir.path, "voice"));

    const k = await startTestKiosk(config);
    defer(() => k.stop());
    await waitFor(() => k.faults.all.includes(PROMPTS_FAULT), "the audio:prompts fault");
    expect(k.faults.current).not.toContain(PROMPTS_FAULT);
    const line = k.logs.lines.find((l) => l.fault === PROMPTS_FAULT);
    expect(line).toMatchObject({ level: "error", dir: join(dir.path, "voice", "kk") });
    expect(line?.problems).toEqual(["alarm-sent.wav: ENOENT", "alarm-received.wav: ENOENT", "connecting.wav: ENOENT", "out-of-order.wav: ENOENT"]);
    expect(line?.hint).toContain(join(defaultPromptsDir(), "kk"));
  });
});

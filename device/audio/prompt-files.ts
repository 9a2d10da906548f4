/**
 * Whether the voice prompts the kiosk will say are there and playable: each
 * {promptsDir}/{language}/{prompt}.wav exists and is a 16-bit PCM WAV. The agent checks once at start,
 * off the button's path (a missing prompt is the degraded part `audio:prompts` in the heartbeat), and
 * `sos kiosk doctor` has a "voice prompts" row: found before an emergency, not during one.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AudioConfig } from "../../shared/config/kiosk.js";
import { defaultPromptsDir, promptPath } from "./aplay.js";
import { PROMPTS } from "./player.js";
import { assertPcm16, parseWav, WavError } from "./wav.js";

export const PROMPTS_FAULT = "audio:prompts";

export interface PromptFiles {
  /** The folder holding the language's files. */
  readonly dir: string;
  /** One entry per unusable file: "alarm-sent.wav: ENOENT". Empty when every prompt is playable. */
  readonly problems: readonly string[];
}

/** Reads each prompt file of the configured language (about 100 kB each) and checks its format. */
export async function checkPromptFiles(audio: Pick<AudioConfig, "language" | "promptsDir">): Promise<PromptFiles> {
  const root = audio.promptsDir ?? defaultPromptsDir();
  const problems: string[] = [];
  for (const prompt of PROMPTS) {
    try {
      assertPcm16(parseWav(await readFile(promptPath(root, audio.language, prompt))));
    } catch (err) {
      problems.push(`${prompt}.wav: ${err instanceof WavError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err))}`);
    }
  }
  return { dir: join(root, audio.language), problems };
}

/** What to do about unusable prompts: the release carries every language's files in its device/prompts. */
export function promptsFix(audio: Pick<AudioConfig, "language" | "promptsDir">): string {
  const shipped = defaultPromptsDir();
  if (audio.promptsDir === undefined || audio.promptsDir === shipped) {
    return `the release's own prompts (${join(shipped, audio.language)}) are incomplete: install the release again (deploy/install.sh) or update to another`;
  }
  return `the release ships every language's prompts in ${shipped}: remove audio.promptsDir from kiosk.json to use them, or copy ${join(shipped, audio.language)}/*.wav into ${join(audio.promptsDir, audio.language)}; then restart the agent`;
}

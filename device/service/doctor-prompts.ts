/**
 * The doctor's "voice prompts" row: every prompt the kiosk will say (alarm sent, received,
 * connecting, out of order) is there in kiosk.json's language and is a playable 16-bit PCM WAV.
 * Otherwise the first caller to find out would be someone in an emergency.
 */
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { checkPromptFiles, promptsFix } from "../audio/prompt-files.js";
import type { DoctorFinding } from "./doctor.js";

const CHECK = "voice prompts";

export async function promptsCheck(config: KioskConfig): Promise<DoctorFinding> {
  if (config.audio.player === "none") return { check: CHECK, result: "skip", detail: "prompts are not played (audio.player none)" };
  const found = await checkPromptFiles(config.audio);
  if (found.problems.length === 0) return { check: CHECK, result: "pass", detail: `${found.dir}: every prompt is a playable WAV` };
  return { check: CHECK, result: "fail", detail: `${found.dir}: ${found.problems.join("; ")}`, fix: promptsFix(config.audio) };
}

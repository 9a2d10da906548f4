/**
 * The port for voice prompts. play() never blocks and never throws: a kiosk with no speaker, no
 * player or a broken sound card still raises its alarm; the failure is logged.
 */
export const PROMPTS = ["alarm-sent", "alarm-received", "connecting", "out-of-order"] as const;
export type PromptName = (typeof PROMPTS)[number];

export interface PromptPlayer {
  play(prompt: PromptName): void;
  stop(): Promise<void>;
}

/** For kiosks without audio: logs what would have been said. */
export class SilentPlayer implements PromptPlayer {
  constructor(private readonly onPlay: (prompt: PromptName) => void) {}

  play(prompt: PromptName): void {
    this.onPlay(prompt);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The kiosk's open alarm (raised, not yet closed by the centre), kept on disk so a restart does
 * not forget it: the yellow light stays on and further presses keep counting on the same alarm.
 */
import { mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { alertSchema } from "../../shared/contract.js";
import { writeFileDurably } from "../lib/durable-file.js";

const openAlarmSchema = z.object({
  alert: alertSchema,
  openedAt: z.iso.datetime({ offset: true }),
  /** True once the gateway acknowledged the alarm ("the centre has received your alarm"). */
  received: z.boolean(),
});
export type OpenAlarm = z.infer<typeof openAlarmSchema>;

export class OpenAlarmFile {
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    const dir = join(dataDir, "state");
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, "open-alarm.json");
  }

  load(): OpenAlarm | null {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return null;
    }
    try {
      const parsed = openAlarmSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through
    }
    this.log.warn({ path: this.path }, "open-alarm state unreadable: starting with no open alarm");
    return null;
  }

  save(alarm: OpenAlarm | null): void {
    try {
      if (alarm === null) {
        unlinkSync(this.path);
        return;
      }
      writeFileDurably(this.path, JSON.stringify(alarm));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && alarm === null) return;
      // The alert itself is safe in the outbox; only the indicator state is at stake.
      this.log.error({ err }, "cannot save the open-alarm state");
    }
  }
}

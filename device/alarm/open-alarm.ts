/**
 * The kiosk's open alarm (raised, not yet closed by the centre), kept on disk so a restart does
 * not forget it: the yellow light stays on and further presses keep counting on the same alarm.
 * Beside it, the last alarm the centre closed (closed-alarm.json): an alert of that alarm still
 * waiting in the outbox for its ack is never taken for an open alarm at the next start.
 */
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { alertSchema } from "../../shared/contract.js";
import { readStateFile, writeFileDurably } from "../lib/durable-file.js";
import { ensureDir } from "../lib/state-dir.js";

const openAlarmSchema = z.object({
  alert: alertSchema,
  openedAt: z.iso.datetime({ offset: true }),
  /** True once the gateway acknowledged the alarm ("the centre has received your alarm"). */
  received: z.boolean(),
});
export type OpenAlarm = z.infer<typeof openAlarmSchema>;

const closedAlarmSchema = z.object({ alertId: z.string(), pressedAt: z.iso.datetime({ offset: true }) });
/** The last alarm the centre closed: its id and when it was pressed. */
export type ClosedAlarm = z.infer<typeof closedAlarmSchema>;

export class OpenAlarmFile {
  private readonly path: string;
  private readonly closedPath: string;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    const dir = join(dataDir, "state");
    ensureDir(dir, log, "the open alarm is");
    this.path = join(dir, "open-alarm.json");
    this.closedPath = join(dir, "closed-alarm.json");
  }

  load(): OpenAlarm | null {
    return this.read(this.path, openAlarmSchema, "open-alarm state unreadable: starting with no open alarm");
  }

  /** The last alarm the centre closed, or null (none yet, or its file unreadable). */
  lastClosed(): ClosedAlarm | null {
    return this.read(this.closedPath, closedAlarmSchema, "closed-alarm record unreadable: ignored");
  }

  /** The centre closed `alarm`: it is recorded as the last closed one, then the open-alarm state is removed. */
  saveClosed(alarm: ClosedAlarm): void {
    try {
      writeFileDurably(this.closedPath, JSON.stringify(alarm));
    } catch (err) {
      this.log.error({ err }, "cannot save the closed-alarm record");
    }
    this.save(null);
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

  private read<T>(path: string, schema: z.ZodType<T>, unreadable: string): T | null {
    const read = readStateFile(path, schema);
    if (read.found === "unreadable") this.log.warn({ path, reason: read.reason }, unreadable);
    return read.found === "value" ? read.value : null;
  }
}

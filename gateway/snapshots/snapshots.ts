/**
 * Snapshots: the still a kiosk's camera takes at the press, published on its `snapshot` topic.
 * Checked (schema, JPEG, the alert is this kiosk's), written atomically to
 * dataDir/snapshots/<alertId>.jpg, and served to operators and dispatch by the HTTP server.
 * A snapshot that arrives before its alert is stored waits (briefly, in memory) for the alert.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { type Snapshot, snapshotSchema } from "../../shared/call.js";
import type { Clock } from "../../shared/clock.js";
import { describeZodError } from "../../shared/contract.js";
import { ErrorCode } from "../../shared/errors.js";
import type { GatewayStore } from "../store/store.js";
import { RejectionSampler } from "../alerts/rejections.js";
import { isAlertId } from "./links.js";
import { makeDir } from "../../shared/make-dir.js";

/** The schema allows 262 144 base64 characters; the JSON around them is small. */
const MAX_PAYLOAD_BYTES = 270_000;
/** Early snapshots held at once: per kiosk (one kiosk cannot take another's slots), and in all (memory). */
const PENDING_PER_KIOSK = 2;
const PENDING_MAX = 64;
const PENDING_MS = 60_000;
const EXCERPT_BYTES = 256;

interface Pending {
  readonly kioskId: string;
  readonly image: Buffer;
  readonly at: number;
}

export class SnapshotStore {
  readonly dir: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sampler = new RejectionSampler();

  constructor(
    dataDir: string,
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.dir = join(dataDir, "snapshots");
  }

  /** Handles one message on `sos/v1/kiosks/{kioskId}/snapshot` from the kiosk authenticated as kioskId. */
  async handle(kioskId: string, topic: string, payload: Buffer): Promise<void> {
    const checked = this.check(payload);
    if ("code" in checked) return this.reject(kioskId, topic, payload, checked.code, checked.reason);
    const { snapshot, image } = checked;
    const alert = await this.store.getAlert(snapshot.alertId);
    if (alert === undefined) {
      this.prunePending();
      let own = 0;
      for (const waiting of this.pending.values()) if (waiting.kioskId === kioskId) own += 1;
      if (own >= PENDING_PER_KIOSK) return this.reject(kioskId, topic, payload, ErrorCode.AlertUnknown, `no alert ${snapshot.alertId}, and ${own} snapshots of this kiosk already wait for theirs`);
      if (this.pending.size >= PENDING_MAX) return this.reject(kioskId, topic, payload, ErrorCode.AlertUnknown, `no alert ${snapshot.alertId}, and too many snapshots wait for theirs`);
      this.pending.set(snapshot.alertId.toLowerCase(), { kioskId, image, at: this.clock.now().getTime() });
      this.log.info({ kioskId, alertId: snapshot.alertId }, "snapshot waits for its alert");
      return;
    }
    if (alert.kioskId !== kioskId) {
      return this.reject(kioskId, topic, payload, ErrorCode.KioskMismatch, `alert ${snapshot.alertId} belongs to kiosk ${alert.kioskId}, not ${kioskId}`);
    }
    await this.write(alert.alertId, image);
    this.log.info({ kioskId, alertId: alert.alertId, bytes: image.length }, "snapshot stored");
  }

  /** Called when an alert is stored: writes a snapshot that arrived before it. */
  async alertStored(alertId: string, kioskId: string): Promise<void> {
    const key = alertId.toLowerCase();
    const waiting = this.pending.get(key);
    if (waiting === undefined) return;
    this.pending.delete(key);
    if (waiting.kioskId !== kioskId) {
      this.log.warn({ kioskId: waiting.kioskId, alertId, owner: kioskId }, "snapshot dropped: its alert belongs to another kiosk");
      return;
    }
    await this.write(alertId, waiting.image);
    this.log.info({ kioskId, alertId, bytes: waiting.image.length }, "snapshot stored");
  }

  /** The JPEG of an alert, or undefined when there is none (yet). */
  async read(alertId: string): Promise<Buffer | undefined> {
    if (!isAlertId(alertId)) return undefined;
    try {
      return await readFile(this.file(alertId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  private file(alertId: string): string {
    return join(this.dir, `${alertId.toLowerCase()}.jpg`);
  }

  /** Temp file, fsync, rename: a reader sees the whole old image or the whole new one. */
  private async write(alertId: string, image: Buffer): Promise<void> {
    makeDir(this.dir, 0o700);
    const target = this.file(alertId);
    const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(tmp, "w", 0o640);
    try {
      await handle.writeFile(image);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private check(payload: Buffer): { snapshot: Snapshot; image: Buffer } | { code: string; reason: string } {
    if (payload.length > MAX_PAYLOAD_BYTES) {
      return { code: ErrorCode.PayloadTooLarge, reason: `payload is ${payload.length} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit for snapshots` };
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      return { code: ErrorCode.PayloadNotJson, reason: "payload is not JSON" };
    }
    const parsed = snapshotSchema.safeParse(json);
    if (!parsed.success) return { code: ErrorCode.PayloadInvalid, reason: `payload does not match the snapshot schema: ${describeZodError(parsed.error)}` };
    if (!isAlertId(parsed.data.alertId)) return { code: ErrorCode.PayloadInvalid, reason: "alertId is not a UUID" };
    const image = Buffer.from(parsed.data.data, "base64");
    if (image.length < 4 || image[0] !== 0xff || image[1] !== 0xd8 || image[2] !== 0xff) {
      return { code: ErrorCode.PayloadInvalid, reason: "data is not a JPEG image" };
    }
    return { snapshot: parsed.data, image };
  }

  private async reject(kioskId: string, topic: string, payload: Buffer, code: string, reason: string): Promise<void> {
    const verdict = this.sampler.admit(kioskId, this.clock.now().getTime());
    if (!verdict.record) {
      if (verdict.logNow) this.log.warn({ kioskId, topic, code, reason }, "kiosk sends bad snapshots too fast: further rejections this minute are counted, not recorded");
      return;
    }
    this.log.warn({ kioskId, topic, code, reason, bytes: payload.length }, "snapshot rejected");
    await this.store.recordRejected({
      kioskId,
      topic,
      receivedAt: this.clock.now().toISOString(),
      code,
      reason,
      excerpt: payload.subarray(0, EXCERPT_BYTES).toString("utf8"),
    });
  }

  private prunePending(): void {
    const before = this.clock.now().getTime() - PENDING_MS;
    for (const [alertId, waiting] of this.pending) if (waiting.at < before) this.pending.delete(alertId);
  }
}

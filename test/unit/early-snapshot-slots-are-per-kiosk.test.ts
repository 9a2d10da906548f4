/**
 * A snapshot that arrives before its alert waits in memory, in slots per kiosk: a kiosk that parks
 * snapshots for alerts that never come cannot take another kiosk's slot.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SnapshotStore } from "../../gateway/snapshots/snapshots.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { LogCapture } from "../fixtures/log-capture.js";

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
const payload = (alertId: string): Buffer =>
  Buffer.from(JSON.stringify({ v: 1, alertId, takenAt: new Date().toISOString(), contentType: "image/jpeg", data: JPEG.toString("base64") }));

describe("early snapshots", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("one kiosk parking 100 snapshots for unknown alerts holds 2 slots; another kiosk's early snapshot still waits and is stored with its alert", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sos-snapshots-"));
    const store = SqliteStore.open(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close());
    const logs = new LogCapture();
    const snapshots = new SnapshotStore(dir, store, { now: () => new Date() }, logs.logger("snapshots"));

    for (let i = 0; i < 100; i += 1) await snapshots.handle("kz-hog", "sos/v1/kiosks/kz-hog/snapshot", payload(randomUUID()));
    const refused = await store.listRejected(1_000);
    expect(refused).toHaveLength(10); // and the rest counted, not recorded (10 rows a minute per kiosk)
    expect(refused[0]?.reason).toMatch(/2 snapshots of this kiosk already wait/);

    const alertId = randomUUID();
    await snapshots.handle("kz-good", "sos/v1/kiosks/kz-good/snapshot", payload(alertId));
    expect(await store.listRejected(1_000)).toHaveLength(10);
    await snapshots.alertStored(alertId, "kz-good");
    expect(await snapshots.read(alertId)).toEqual(JPEG);
  });
});

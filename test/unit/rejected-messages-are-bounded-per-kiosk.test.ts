/**
 * A kiosk sending bad messages cannot fill rejected_messages: 10 rows a minute per kiosk (the rest
 * counted and logged once a minute), the newest 200 rows per kiosk kept, and rows older than the
 * history window deleted by the daily prune.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AlertPipeline } from "../../gateway/alerts/pipeline.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { REJECTED_PER_KIOSK, SqliteStore } from "../../gateway/store/sqlite/index.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("rejected messages are bounded", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const open = (): SqliteStore => {
    const dir = mkdtempSync(join(tmpdir(), "sos-rejected-"));
    const store = SqliteStore.open(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close());
    return store;
  };

  it("a kiosk sending 500 bad alerts in a minute gets 10 rows and one 'too fast' line; every one is counted; another kiosk is still recorded; the next minute records again", async () => {
    const store = open();
    const logs = new LogCapture();
    const bus = new EventBus<GatewayEvents>(logs.logger("bus"));
    let counted = 0;
    bus.on("alert.rejected", "test", () => (counted += 1));
    let now = Date.parse("2025-03-01T12:00:00.000Z");
    const pipeline = new AlertPipeline(store, () => Promise.resolve(), { maxPayloadBytes: 4_096, agency: "test" }, bus, { now: () => new Date(now) }, logs.logger("alerts"));
    for (let i = 0; i < 500; i += 1) await pipeline.handle("kz-flood", "sos/v1/kiosks/kz-flood/alerts", Buffer.from("not json"));
    await pipeline.handle("kz-other", "sos/v1/kiosks/kz-other/alerts", Buffer.from("not json"));
    const rows = await store.listRejected(10_000);
    expect(rows.filter((r) => r.kioskId === "kz-flood")).toHaveLength(10);
    expect(rows.filter((r) => r.kioskId === "kz-other")).toHaveLength(1);
    expect(counted).toBe(501);
    expect(logs.lines.filter((l) => l.msg.startsWith("kiosk sends bad alerts too fast"))).toHaveLength(1);
    expect(logs.lines.filter((l) => l.msg === "alert rejected")).toHaveLength(11);
    now += 60_000;
    await pipeline.handle("kz-flood", "sos/v1/kiosks/kz-flood/alerts", Buffer.from("not json"));
    expect((await store.listRejected(10_000)).filter((r) => r.kioskId === "kz-flood")).toHaveLength(11);
  });

  it("keeps the newest rows per kiosk, and the prune deletes rows older than its date", async () => {
    const store = open();
    const at = (i: number): string => new Date(Date.parse("2025-03-01T00:00:00.000Z") + i * 1_000).toISOString();
    await store.recordRejected({ kioskId: "kz-quiet", topic: "t", receivedAt: at(0), code: "PAYLOAD_NOT_JSON", reason: "bad", excerpt: "" });
    for (let i = 1; i <= REJECTED_PER_KIOSK + 50; i += 1) {
      await store.recordRejected({ kioskId: "kz-loud", topic: "t", receivedAt: at(i), code: "PAYLOAD_NOT_JSON", reason: `bad ${i}`, excerpt: "" });
    }
    const loud = (await store.listRejected(10_000)).filter((r) => r.kioskId === "kz-loud");
    expect(loud).toHaveLength(REJECTED_PER_KIOSK);
    expect(loud.at(-1)?.reason).toBe("bad 51");
    expect((await store.listRejected(10_000)).filter((r) => r.kioskId === "kz-quiet")).toHaveLength(1);

    const pruned = await store.health.pruneHistory(new Date(at(100)));
    expect(pruned.rejected).toBe(1 + 49);
    expect(await store.listRejected(10_000)).toHaveLength(REJECTED_PER_KIOSK - 49);
  });
});

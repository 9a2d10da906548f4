import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isUpdateId, updatesQueue, withUpdates, dispatchQueue } from "../../gateway/dispatch/forwarder.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { Alert } from "../../shared/contract.js";

const T0 = new Date("2026-11-25T03:44:00.000Z");
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const none: ReadonlySet<string> = new Set();

function alert(n: number): Alert {
  return { v: 1, alertId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, kioskId: "kz-hwy-0001", kind: "sos", pressedAt: T0.toISOString(), location: { lat: 43, lon: 76, address: "km 12" } };
}

const ok = (id: string, ms: number) => ({ id, attempt: 1, startedAt: at(ms).toISOString(), durationMs: 5, ok: true, httpStatus: 200, error: null });

describe("an alarm's EIDO updates wait for its alert and go out in order", () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-eido-"));
    store = SqliteStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends none before the alert is delivered, then one at a time in the order queued, each once", async () => {
    const a = alert(1);
    await store.recordAlert(a, at(0), '{"first":true}');
    const u = store.dispatchUpdates;
    expect(await u.dispatchBody(a.alertId)).toBe('{"first":true}');
    const ack = `${a.alertId}:acknowledged`;
    const closed = `${a.alertId}:closed`;
    expect(await u.queueUpdate({ eventId: ack, alertId: a.alertId, step: "acknowledged", body: "{1}", at: at(1_000).toISOString() })).toBe(true);
    expect(await u.queueUpdate({ eventId: closed, alertId: a.alertId, step: "closed", body: "{2}", at: at(2_000).toISOString() })).toBe(true);
    // Queued again (a restart, a repeated event): the first copy stays, nothing new is sent.
    expect(await u.queueUpdate({ eventId: ack, alertId: a.alertId, step: "acknowledged", body: "{other}", at: at(3_000).toISOString() })).toBe(false);

    const queue = withUpdates(dispatchQueue(store), updatesQueue(store));
    expect((await queue.claim(at(10_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.id)).toEqual([a.alertId]);
    expect(await u.nextUpdateAt({ owner: "test", busy: none })).toBeNull();

    await queue.record(ok(a.alertId, 10_000), null);
    expect((await queue.claim(at(10_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.id)).toEqual([ack]);
    expect(await queue.nextAt({ owner: "test", busy: none })).toEqual(at(1_000));
    // A failed attempt keeps the later update waiting behind it.
    await queue.record({ ...ok(ack, 10_000), ok: false, httpStatus: 503, error: "HTTP 503" }, at(20_000));
    expect(await queue.claim(at(15_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([]);
    expect((await queue.claim(at(20_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => [j.id, j.body, j.attempts])).toEqual([[ack, "{1}", 1]]);
    await queue.record({ ...ok(ack, 20_000), attempt: 2 }, null);
    expect((await queue.claim(at(20_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).map((j) => j.id)).toEqual([closed]);
    await queue.record(ok(closed, 20_000), null);
    expect(await queue.claim(at(30_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none })).toEqual([]);

    const rows = await u.updatesOf(a.alertId);
    expect(rows.map((r) => [r.eventId, r.step, r.body, r.attempts, r.deliveredAt !== null])).toEqual([
      [ack, "acknowledged", "{1}", 2, true],
      [closed, "closed", "{2}", 1, true],
    ]);
    // The alert's own record was not touched by the updates' attempts.
    expect(await store.getAlert(a.alertId)).toMatchObject({ delivery: "delivered", attempts: 1 });
  });

  it("does not hold one alarm's updates behind another alarm's undelivered alert", async () => {
    const [a, b] = [alert(2), alert(3)];
    await store.recordAlert(a, at(0), "{}");
    await store.recordAlert(b, at(0), "{}");
    await store.recordAttempt({ alertId: a.alertId, attempt: 1, startedAt: at(0).toISOString(), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
    await store.dispatchUpdates.queueUpdate({ eventId: `${a.alertId}:acknowledged`, alertId: a.alertId, step: "acknowledged", body: "{}", at: at(1).toISOString() });
    await store.dispatchUpdates.queueUpdate({ eventId: `${b.alertId}:acknowledged`, alertId: b.alertId, step: "acknowledged", body: "{}", at: at(1).toISOString() });
    const due = await withUpdates(dispatchQueue(store), updatesQueue(store)).claim(at(5_000), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: none });
    expect(due.map((j) => j.id)).toEqual([b.alertId, `${a.alertId}:acknowledged`]);
    expect(due.map((j) => isUpdateId(j.id))).toEqual([false, true]);
  });
});

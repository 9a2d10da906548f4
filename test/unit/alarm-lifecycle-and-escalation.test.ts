/**
 * The alarm lifecycle store (migration 6, real SQLite) and the escalation timers under fake timers:
 * one timer per open SOS alarm, fired exactly at receipt + escalateAfterMs, repeated every
 * escalationRepeatMs, stopped by an acknowledgement or a close, and re-armed after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EscalationTimers } from "../../gateway/alarms/escalation.js";
import { openAlarms } from "../../gateway/alarms/views.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { systemClock } from "../../shared/clock.js";
import type { Alert } from "../../shared/contract.js";
import { escalationEventSchema } from "../../shared/escalation.js";
import { LogCapture } from "../fixtures/log-capture.js";

const KIOSK = "kz-esc-0001";
let dir: string;
let store: SqliteStore;
let seq = 0;

async function storeAlert(kind: Alert["kind"] = "sos", receivedAt = new Date()): Promise<string> {
  seq += 1;
  const alertId = `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`;
  const alert: Alert = { v: 1, alertId, kioskId: KIOSK, kind, pressedAt: receivedAt.toISOString(), location: { lat: 43.25, lon: 76.95, address: "A2 km 12" } };
  await store.recordAlert(alert, receivedAt, "{}");
  return alertId;
}

function timers(escalated: string[] = []): EscalationTimers {
  return new EscalationTimers(
    { escalateAfterMs: 30_000, escalationRepeatMs: 60_000 },
    { store, clock: systemClock, log: new LogCapture().logger("esc"), escalated: (alertId, n) => escalated.push(`${alertId}#${n}`) },
  );
}

/** Lets the timer's async store calls finish (they resolve at once on SQLite). */
const settle = () => vi.advanceTimersByTimeAsync(0);
/** `ms` pass, then the store calls they started finish. */
const after = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
};

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00.000Z") });
  dir = mkdtempSync(join(tmpdir(), "sos-alarms-"));
  store = SqliteStore.open(dir);
  await store.putKiosk({ kioskId: KIOSK, secretHash: "x", name: "Park gate", location: { lat: 43.25, lon: 76.95, address: "A2 km 12" }, region: "Almaty" }, { replace: false, now: new Date() });
});

afterEach(async () => {
  vi.useRealTimers();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("alarm lifecycle store", () => {
  it("keeps once-only steps once, takes the first acknowledgement, and refuses one after the close", async () => {
    const alertId = await storeAlert();
    const at = new Date().toISOString();
    expect(await store.alarms.recordStep({ alertId, type: "received", at, actor: "gateway", detail: { health: { state: "online" } } })).toBe(true);
    expect(await store.alarms.recordStep({ alertId, type: "received", at, actor: "gateway", detail: {} })).toBe(false);
    expect(await store.alarms.recordStep({ alertId, type: "presses", at, actor: "kiosk", detail: { pressCount: 2 } })).toBe(true);
    expect(await store.alarms.recordStep({ alertId, type: "presses", at, actor: "kiosk", detail: { pressCount: 3 } })).toBe(true);
    expect(await store.alarms.recordStep({ alertId: "no-such-alert", type: "received", at, actor: null, detail: {} })).toBe(false);

    expect((await store.alarms.acknowledge(alertId, "alice", new Date())).result).toBe("acknowledged");
    expect(await store.alarms.acknowledge(alertId, "bob", new Date())).toMatchObject({ result: "already-acknowledged", by: "alice" });
    const other = await storeAlert();
    await store.closeAlert(other, { outcome: "test", closedBy: "cli", now: new Date(), commandId: "c1", command: () => "{}" });
    expect((await store.alarms.acknowledge(other, "alice", new Date())).result).toBe("closed");
    expect((await store.alarms.acknowledge("nope", "alice", new Date())).result).toBe("unknown");

    const steps = await store.alarms.steps(alertId);
    expect(steps.map((s) => `${s.type}:${s.actor}`)).toEqual(["received:gateway", "presses:kiosk", "presses:kiosk", "acknowledged:alice"]);
    expect(steps[0]?.detail).toEqual({ health: { state: "online" } });
    expect((await store.getKiosk(KIOSK))?.region).toBe("Almaty");
  });
});

describe("the alarm queue's order", () => {
  it("lists open alarms longest waiting first, and leaves out closed ones and test alarms (stored closed: they never page anyone)", async () => {
    const t = Date.now();
    const oldSos = await storeAlert("sos", new Date(t - 60_000));
    const newTest = await storeAlert("test", new Date(t - 1_000));
    const newSos = await storeAlert("sos", new Date(t - 10_000));
    const closed = await storeAlert("sos", new Date(t));
    await store.closeAlert(closed, { outcome: "prank", closedBy: "alice", now: new Date(), commandId: "c3", command: () => "{}" });
    const queue = await openAlarms(store);
    expect(queue.map((a) => a.alertId)).toEqual([oldSos, newSos]);
    expect((await store.getAlert(newTest))?.outcome).toBe("test");
    expect(queue[1]).toMatchObject({ kioskName: "Park gate", region: "Almaty", status: "received", pressCount: 1, escalations: 0, acknowledgedBy: null });
  });

  it("sends one alarm's escalation events in the order they were raised, whatever their backoff", async () => {
    const alertId = await storeAlert();
    const t = Date.now();
    const esc = (n: number) => ({ eventId: `e-${n}`, alertId, number: n, at: new Date(t + n * 60_000).toISOString(), body: "{}" });
    expect(await store.alarms.recordEscalation(esc(1))).toBe(true);
    expect(await store.alarms.recordEscalation(esc(2))).toBe(true);
    // #1 failed and backed off beyond #2's due time: #2 still waits for it.
    await store.alarms.recordEscalationAttempt({ id: "e-1", attempt: 1, startedAt: new Date(t).toISOString(), durationMs: 1, ok: false, httpStatus: 503, error: "HTTP 503" }, new Date(t + 600_000));
    const due = async (ms: number): Promise<string[]> => (await store.alarms.claimEscalations(new Date(t + ms), 10, { owner: "test", now: new Date(0), leaseMs: 0, busy: new Set() })).map((j) => j.id);
    expect(await due(300_000)).toEqual([]);
    expect(await due(600_000)).toEqual(["e-1"]);
    await store.alarms.recordEscalationAttempt({ id: "e-1", attempt: 2, startedAt: new Date(t + 600_000).toISOString(), durationMs: 1, ok: true, httpStatus: 200, error: null }, null);
    expect(await due(600_000)).toEqual(["e-2"]);
  });

  it("keeps an old open alarm in the queue however many closed alarms came after it", async () => {
    const t = Date.now();
    const old = await storeAlert("sos", new Date(t - 3 * 3_600_000));
    for (let i = 0; i < 600; i += 1) await storeAlert("test", new Date(t - 3_600_000 + i * 1_000));
    expect((await openAlarms(store)).map((a) => a.alertId)).toEqual([old]);
  });

  it("lists every open alarm, however many: 1 005 open with the five oldest acknowledged, none left out (it was 100: the page then dropped the rest)", async () => {
    const t = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 1_005; i += 1) ids.push(await storeAlert("sos", new Date(t - 3_600_000 + i * 1_000)));
    for (const alertId of ids.slice(0, 5)) await store.alarms.acknowledge(alertId, "duty1", new Date(t));
    const queue = await openAlarms(store);
    expect(queue).toHaveLength(1_005);
    // The acknowledged ones, oldest first, close the queue: kept, not cut.
    expect(queue.slice(-5).map((a) => [a.alertId, a.acknowledgedBy])).toEqual(ids.slice(0, 5).map((id) => [id, "duty1"]));
    expect(queue[0]?.alertId).toBe(ids[5]);
  });
});

describe("escalation timers", () => {
  it("escalates exactly at escalateAfterMs, repeats every escalationRepeatMs, and stops once acknowledged", async () => {
    const escalated: string[] = [];
    const t = timers(escalated);
    const alertId = await storeAlert();
    t.track(alertId, KIOSK, new Date().toISOString());
    await vi.advanceTimersByTimeAsync(29_999);
    expect(escalated).toEqual([]);
    await after(1);
    expect(escalated).toEqual([`${alertId}#1`]);
    await after(60_000);
    expect(escalated).toEqual([`${alertId}#1`, `${alertId}#2`]);

    const queued = await store.alarms.listEscalations(10);
    expect(queued).toHaveLength(2);
    const body = escalationEventSchema.parse(JSON.parse(queued[1]!.body));
    expect(body).toMatchObject({ alertId, kioskId: KIOSK, kioskName: "Park gate", escalation: 1, unacknowledgedForS: 30 });

    await store.alarms.acknowledge(alertId, "alice", new Date());
    t.cancel(alertId);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(escalated).toHaveLength(2);
    expect(t.pending).toBe(0);
    t.stop();
  });

  it("two gateways of a cluster escalate an alarm once per number, not once each; both stop once it is acknowledged", async () => {
    const other = SqliteStore.open(dir);
    try {
      const onA: string[] = [];
      const onB: string[] = [];
      const a = timers(onA);
      const b = new EscalationTimers(
        { escalateAfterMs: 30_000, escalationRepeatMs: 60_000 },
        { store: other, clock: systemClock, log: new LogCapture().logger("esc-b"), escalated: (id, n) => onB.push(`${id}#${n}`) },
      );
      const alertId = await storeAlert();
      a.track(alertId, KIOSK, new Date().toISOString());
      // Node B learned of the alarm at its own start, a moment later.
      await vi.advanceTimersByTimeAsync(200);
      expect(await b.restore()).toBe(1);
      await after(30_000);
      await after(60_000);
      const queued = await store.alarms.listEscalations(10);
      expect(queued.map((q) => escalationEventSchema.parse(JSON.parse(q.body)).escalation).sort()).toEqual([1, 2]);
      expect([...onA, ...onB].sort()).toEqual([`${alertId}#1`, `${alertId}#2`]);
      expect(new Set(queued.map((q) => q.eventId)).size).toBe(2);

      await store.alarms.acknowledge(alertId, "alice", new Date());
      await after(120_000);
      expect(await store.alarms.listEscalations(10)).toHaveLength(2);
      expect(a.pending + b.pending).toBe(0);
      a.stop();
      b.stop();
    } finally {
      await other.close();
    }
  });

  /** A gateway of a cluster: it arms the others' alarms every 5 s and follows them 5 s (+ 500 ms jitter here) behind. */
  function clusterTimers(on: SqliteStore, escalated: string[], name: string): EscalationTimers {
    return new EscalationTimers(
      { escalateAfterMs: 30_000, escalationRepeatMs: 60_000, shared: { syncMs: 5_000, takeoverMs: 5_000 } },
      { store: on, clock: systemClock, log: new LogCapture().logger(name), escalated: (id, n) => escalated.push(`${id}#${n}`), random: () => 0.5 },
    );
  }

  interface TwoGateways {
    readonly a: EscalationTimers;
    readonly b: EscalationTimers;
    readonly onA: string[];
    readonly onB: string[];
    /** B's own connection to the store. */
    readonly other: SqliteStore;
  }

  /** Gateways A and B of a cluster on one store, both running before any alarm comes (B learns of A's alarms from the store only). */
  async function twoGateways(body: (g: TwoGateways) => Promise<void>): Promise<void> {
    const other = SqliteStore.open(dir);
    const onA: string[] = [];
    const onB: string[] = [];
    const a = clusterTimers(store, onA, "esc-a");
    const b = clusterTimers(other, onB, "esc-b");
    try {
      expect(await a.restore()).toBe(0);
      expect(await b.restore()).toBe(0);
      await body({ a, b, onA, onB, other });
    } finally {
      a.stop();
      b.stop();
      await other.close();
    }
  }

  it("an alarm whose gateway dies before its escalation is escalated by another gateway of the cluster, one beat late, then on time", async () => {
    await twoGateways(async ({ a, b, onA, onB }) => {
      const alertId = await storeAlert();
      a.track(alertId, KIOSK, new Date().toISOString());
      await after(5_000);
      expect(b.pending).toBe(1);
      a.stop(); // A dies with the alarm's only timer it had
      await after(30_499); // due at 30 s; B follows 5.5 s behind
      expect(onB).toEqual([]);
      await after(1);
      expect(onB).toEqual([`${alertId}#1`]);
      // B raised it, so B leads the alarm now: the next one comes escalationRepeatMs later, not a beat behind.
      await after(60_000);
      expect(onB).toEqual([`${alertId}#1`, `${alertId}#2`]);
      expect(onA).toEqual([]);
      expect((await store.alarms.listEscalations(10)).map((q) => escalationEventSchema.parse(JSON.parse(q.body)).escalation)).toEqual([2, 1]);
    });
  });

  it("while the gateway that received an alarm lives, the others of the cluster only read that it escalated, and write nothing", async () => {
    await twoGateways(async ({ a, b, onA, onB, other }) => {
      const writes = vi.spyOn(other.alarms, "recordEscalation");
      const alertId = await storeAlert();
      a.track(alertId, KIOSK, new Date().toISOString());
      await after(30_000);
      expect(onA).toEqual([`${alertId}#1`]);
      expect(b.pending).toBe(1);
      await after(65_500);
      expect(onA).toEqual([`${alertId}#1`, `${alertId}#2`]);
      expect(onB).toEqual([]);
      expect(writes).not.toHaveBeenCalled();
      expect(await store.alarms.listEscalations(10)).toHaveLength(2);
      // Acknowledged on A: B's timer ends at its next look, still without a write.
      await store.alarms.acknowledge(alertId, "alice", new Date());
      a.cancel(alertId);
      await after(70_000);
      expect(b.pending).toBe(0);
      expect(writes).not.toHaveBeenCalled();
    });
  });

  it("a node of a cluster reads at each sync the details only of the open alarms it has not seen, however many stay open", async () => {
    await twoGateways(async ({ a, b, other }) => {
      const details = vi.spyOn(other.alarms, "unacknowledged");
      const [x, y] = [await storeAlert(), await storeAlert()];
      for (const id of [x, y]) a.track(id, KIOSK, new Date().toISOString());
      const acked = await storeAlert();
      await store.alarms.acknowledge(acked, "alice", new Date());
      await after(5_000);
      expect(b.pending).toBe(2);
      expect(details).toHaveBeenCalledTimes(1);
      expect([...(details.mock.calls[0]![0] ?? [])].sort()).toEqual([x, y, acked].sort());
      // Nothing new: the ids alone are read (the acknowledged one is not asked about again).
      await after(5_000);
      expect(details).toHaveBeenCalledTimes(1);
      const w = await storeAlert();
      a.track(w, KIOSK, new Date().toISOString());
      await after(5_000);
      expect(details).toHaveBeenCalledTimes(2);
      expect(details.mock.calls[1]![0]).toEqual([w]);
      expect(b.pending).toBe(3);
      await store.closeAlert(x, { outcome: "help sent", closedBy: "alice", now: new Date(), commandId: "c-x", command: () => "{}" });
      await after(5_000);
      expect(details).toHaveBeenCalledTimes(2);
    });
  });

  it("an alarm acknowledged or closed elsewhere (the CLI) is not escalated, and its timer ends", async () => {
    const escalated: string[] = [];
    const t = timers(escalated);
    const alertId = await storeAlert();
    t.track(alertId, KIOSK, new Date().toISOString());
    await store.closeAlert(alertId, { outcome: "help sent", closedBy: "cli", now: new Date(), commandId: "c2", command: () => "{}" });
    await after(30_000);
    expect(escalated).toEqual([]);
    expect(await store.alarms.listEscalations(10)).toEqual([]);
    expect(t.pending).toBe(0);
    t.stop();
  });

  it("after a restart, open unacknowledged SOS alarms are re-armed for their next escalation (test alarms never)", async () => {
    const first = timers();
    const old = await storeAlert("sos", new Date(Date.now() - 45_000)); // escalated once, 15 s ago, before the restart
    await first.restore();
    await settle();
    first.stop();
    expect((await store.alarms.steps(old)).filter((s) => s.type === "escalated")).toHaveLength(1);
    const fresh = await storeAlert("sos", new Date(Date.now() - 10_000));
    await storeAlert("test", new Date(Date.now() - 100_000));

    const escalated: string[] = [];
    const second = timers(escalated);
    expect(await second.restore()).toBe(2);
    await vi.advanceTimersByTimeAsync(19_999);
    expect(escalated).toEqual([]);
    await after(1);
    expect(escalated).toEqual([`${fresh}#1`]);
    await after(40_000); // the old one: 60 s after its last escalation
    expect(escalated).toEqual([`${fresh}#1`, `${old}#2`]);
    second.stop();
  });
});

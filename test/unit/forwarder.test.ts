import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DispatchForwarder, type DispatchForwarderOptions } from "../../gateway/dispatch/forwarder.js";
import type { DispatchSender, SendResult } from "../../gateway/dispatch/webhook.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { DispatchJob } from "../../gateway/store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { Alert } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

const ok: SendResult = { ok: true, httpStatus: 200, error: null };
const unavailable: SendResult = { ok: false, httpStatus: 503, error: "HTTP 503" };

interface Call {
  readonly job: DispatchJob;
  readonly attempt: number;
  readonly at: number;
  readonly signal: AbortSignal;
  settled: boolean;
  resolve(result: SendResult): void;
}

/** The fake behind the DispatchSender port. By default answers with `answer(n)` at once; `hold` keeps each send open until the test resolves it. */
class FakeSender implements DispatchSender {
  readonly calls: Call[] = [];
  inflight = 0;
  maxInflight = 0;
  hold = false;
  /** When held sends are aborted, answer like the webhook does. */
  honourAbort = true;
  answer: (n: number, job: DispatchJob) => SendResult = () => ok;

  send(job: DispatchJob, attempt: number, signal: AbortSignal): Promise<SendResult> {
    this.inflight += 1;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    return new Promise<SendResult>((resolve) => {
      const call: Call = {
        job,
        attempt,
        at: Date.now(),
        signal,
        settled: false,
        resolve: (result) => {
          if (call.settled) return;
          call.settled = true;
          this.inflight -= 1;
          resolve(result);
        },
      };
      this.calls.push(call);
      if (this.hold) {
        if (this.honourAbort) signal.addEventListener("abort", () => call.resolve({ ok: false, httpStatus: null, error: "aborted: gateway shutting down" }), { once: true });
      } else {
        call.resolve(this.answer(this.calls.length, job));
      }
    });
  }
}

const T0 = new Date("2025-01-02T03:00:00.000Z");
const clock: Clock = { now: () => new Date() }; // Date is faked along with the timers

let seq = 0;
function newAlert(): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId: "kz-hwy-0001",
    kind: "sos",
    pressedAt: T0.toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  };
}

describe("DispatchForwarder", () => {
  let dir: string;
  let store: SqliteStore;
  let sender: FakeSender;
  let logs: LogCapture;
  let bus: EventBus<GatewayEvents>;
  const forwarders: DispatchForwarder[] = [];

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dir = mkdtempSync(join(tmpdir(), "sos-forwarder-"));
    store = SqliteStore.open(dir);
    sender = new FakeSender();
    logs = new LogCapture();
    bus = new EventBus<GatewayEvents>(logs.logger("bus"));
  });

  afterEach(async () => {
    for (const sent of sender.calls) sent.resolve(ok);
    for (const f of forwarders.splice(0)) {
      const stopped = f.stop(0);
      await vi.advanceTimersByTimeAsync(0);
      await stopped;
    }
    vi.useRealTimers();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const forwarder = (options: Partial<DispatchForwarderOptions> = {}): DispatchForwarder => {
    const f = new DispatchForwarder(
      store,
      sender,
      { retry: { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0 }, concurrency: 8, ...options },
      bus,
      clock,
      logs.logger("dispatch"),
    );
    forwarders.push(f);
    return f;
  };

  const record = async (count = 1): Promise<Alert[]> => {
    const alerts = Array.from({ length: count }, newAlert);
    for (const alert of alerts) await store.recordAlert(alert, new Date(), JSON.stringify({ alertId: alert.alertId }));
    return alerts;
  };

  it("a new alert stored with the forwarder's claim is sent at once without a claim query; with every slot busy it is stored unclaimed and waits its turn", async () => {
    const f = forwarder({ concurrency: 1 });
    f.start();
    await vi.advanceTimersByTimeAsync(0);
    const claims = vi.spyOn(store, "claimDispatches");
    sender.hold = true;
    const [first, second] = [newAlert(), newAlert()];
    const stored = await store.recordAlert(first, new Date(), "first", f.claimForNew());
    f.stored(stored.outcome === "stored" ? stored.job : undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls.map((c) => c.job.alertId)).toEqual([first.alertId]);
    expect(claims).not.toHaveBeenCalled();
    // The one slot is taken: no claim is offered, the second waits in the queue for the first to finish.
    expect(f.claimForNew()).toBeUndefined();
    const unclaimed = await store.recordAlert(second, new Date(), "second", f.claimForNew());
    expect(unclaimed).toMatchObject({ outcome: "stored" });
    expect("job" in unclaimed).toBe(false);
    f.stored(undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls).toHaveLength(1);
    sender.calls[0]!.resolve(ok);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls.map((c) => c.job.alertId)).toEqual([first.alertId, second.alertId]);
    expect(claims).toHaveBeenCalled();
    sender.calls[1]!.resolve(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect((await store.getAlert(first.alertId))?.delivery).toBe("delivered");
    expect(sender.calls.map((c) => c.attempt)).toEqual([1, 1]);
  });

  it("a job handed over while the forwarder is looking at the queue (its own claim, so claimable by it) is sent once", async () => {
    const f = forwarder();
    f.start();
    await vi.advanceTimersByTimeAsync(0);
    sender.hold = true;
    const alert = newAlert();
    const stored = await store.recordAlert(alert, new Date(), "body", f.claimForNew());
    f.wake(); // a send finishing elsewhere: the queue is read now, before the handover below
    f.stored(stored.outcome === "stored" ? stored.job : undefined);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls.map((c) => c.job.alertId)).toEqual([alert.alertId]);
    sender.calls[0]!.resolve(ok);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sender.calls).toHaveLength(1);
    expect((await store.getAlert(alert.alertId))?.delivery).toBe("delivered");
  });

  it("retries with growing delays capped at maxMs and never gives up: 30 failures then a success is delivered, 31 attempts recorded", async () => {
    const [alert] = await record();
    sender.answer = (n) => (n <= 30 ? unavailable : ok);
    const failed: GatewayEvents["dispatch.failed"][] = [];
    const delivered: GatewayEvents["alert.delivered"][] = [];
    bus.on("dispatch.failed", "test", (e) => failed.push(e));
    bus.on("alert.delivered", "test", (e) => delivered.push(e));

    forwarder().start();
    await vi.runAllTimersAsync();

    expect(sender.calls).toHaveLength(31);
    expect(sender.calls.map((c) => c.attempt)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(new Set(sender.calls.map((c) => c.job.body))).toEqual(new Set([JSON.stringify({ alertId: alert!.alertId })]));
    const gaps = sender.calls.slice(1).map((c, i) => c.at - sender.calls[i]!.at);
    expect(gaps).toEqual([100, 200, 400, 800, ...Array.from({ length: 26 }, () => 1_000)]);
    expect(failed.map((e) => e.retryInMs)).toEqual(gaps);

    const row = await store.getAlert(alert!.alertId);
    expect(row).toMatchObject({ delivery: "delivered", attempts: 31, lastError: null, nextAttemptAt: null });
    const attempts = await store.attemptsFor(alert!.alertId);
    expect(attempts).toHaveLength(31);
    expect(attempts.filter((a) => !a.ok).map((a) => a.attempt)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(attempts.at(-1)).toMatchObject({ attempt: 31, ok: true, httpStatus: 200 });
    expect(delivered).toEqual([{ alertId: alert!.alertId, attempt: 31, httpStatus: 200, deliveredAt: new Date(sender.calls[30]!.at).toISOString() }]);
  });

  it("keeps retrying a failing receiver at maxMs for as long as it fails", async () => {
    const [alert] = await record();
    sender.answer = () => unavailable;
    forwarder().start();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    // 100 + 200 + 400 + 800 ms, then every 1 000 ms for the rest of the five minutes
    expect(sender.calls.length).toBe(1 + 4 + Math.floor((5 * 60_000 - 1_500) / 1_000));
    expect(await store.getAlert(alert!.alertId)).toMatchObject({ delivery: "pending", attempts: sender.calls.length });
  });

  it("has at most `concurrency` sends in flight, and starts the next as soon as one finishes", async () => {
    const alerts = await record(10);
    sender.hold = true;
    const f = forwarder({ concurrency: 3 });
    f.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls).toHaveLength(3);
    expect(sender.inflight).toBe(3);

    f.wake(); // a new alert arriving while full starts nothing extra
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sender.calls).toHaveLength(3);

    sender.calls[0]!.resolve(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls).toHaveLength(4);
    expect(sender.inflight).toBe(3);

    while (sender.calls.some((c) => !c.settled)) {
      for (const c of sender.calls.filter((x) => !x.settled)) c.resolve(ok);
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(sender.calls).toHaveLength(10);
    expect(sender.maxInflight).toBe(3);
    expect(new Set(sender.calls.map((c) => c.job.alertId))).toEqual(new Set(alerts.map((a) => a.alertId)));
    expect(await store.countByDelivery()).toEqual({ pending: 0, delivered: 10 });
  });

  it("never sends the same alert twice at once", async () => {
    const [alert] = await record();
    sender.hold = true;
    const f = forwarder({ concurrency: 4 });
    f.start();
    await vi.advanceTimersByTimeAsync(0);
    f.wake();
    f.wake();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sender.calls.map((c) => c.job.alertId)).toEqual([alert!.alertId]);
  });

  it("stop() waits graceMs, then aborts the sends in flight; they stay pending with the next attempt due at once", async () => {
    const alerts = await record(2);
    sender.hold = true;
    const f = forwarder();
    f.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(sender.calls).toHaveLength(2);

    let stopped = false;
    const stopping = f.stop(1_000).then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(sender.calls.some((c) => c.signal.aborted)).toBe(false);
    expect(stopped).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(sender.calls.every((c) => c.signal.aborted)).toBe(true);
    const abortedAt = new Date(T0.getTime() + 1_500);
    for (const alert of alerts) {
      expect(await store.getAlert(alert.alertId)).toMatchObject({
        delivery: "pending",
        attempts: 1,
        nextAttemptAt: abortedAt.toISOString(),
        lastError: "aborted: gateway shutting down",
      });
    }
    // Due at once, and held by nobody (a claim taken here would count as one more attempt for the next owner).
    expect(await store.nextDispatchAt({ owner: "test" })).toEqual(abortedAt);
    expect(logs.find("aborting dispatch attempts still in flight: they stay pending and are retried at start")[0]).toMatchObject({ inflight: 2 });

    // nothing new starts after stop, however long we wait
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sender.calls).toHaveLength(2);

    // the next start sends them again at once, as attempt 2
    sender.hold = false;
    forwarder().start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls.slice(2).map((c) => c.attempt)).toEqual([2, 2]);
    expect(await store.countByDelivery()).toEqual({ pending: 0, delivered: 2 });
  });

  it("stop() does not abort a send that finishes within graceMs", async () => {
    const [alert] = await record();
    sender.hold = true;
    const f = forwarder();
    f.start();
    await vi.advanceTimersByTimeAsync(0);
    const stopping = f.stop(5_000);
    await vi.advanceTimersByTimeAsync(200);
    sender.calls[0]!.resolve(ok);
    await vi.advanceTimersByTimeAsync(0);
    await stopping;
    expect(sender.calls[0]!.signal.aborted).toBe(false);
    expect(await store.getAlert(alert!.alertId)).toMatchObject({ delivery: "delivered", attempts: 1 });
  });

  it("sends an alert recorded later when woken, and a due retry without being woken", async () => {
    sender.answer = (n) => (n === 1 ? unavailable : ok);
    const f = forwarder();
    f.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sender.calls).toHaveLength(0);
    const [alert] = await record();
    f.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(sender.calls).toHaveLength(2);
    expect(await store.getAlert(alert!.alertId)).toMatchObject({ delivery: "delivered", attempts: 2 });
  });

  it("probes a failing receiver with one alert at a time on its own short backoff, then sends the backlog SOS oldest first, test alarms last", async () => {
    const testAlarm = { ...newAlert(), kind: "test" as const };
    await store.recordAlert(testAlarm, new Date(), JSON.stringify({ alertId: testAlarm.alertId }));
    await vi.advanceTimersByTimeAsync(10);
    const sos = await record(4);
    let down = true;
    sender.answer = () => (down ? { ok: false, httpStatus: null, error: "ECONNREFUSED" } : ok);
    const seen: string[] = [];
    bus.on("dispatch.unreachable", "test", () => seen.push("unreachable"));
    bus.on("dispatch.restored", "test", () => seen.push("restored"));
    const f = forwarder({ concurrency: 4, circuit: { probeMinMs: 100, probeMaxMs: 400, jitter: 0 }, unreachableAfterMs: 5_000 });
    f.start();
    await vi.advanceTimersByTimeAsync(10_000);

    // The first batch fails together; then one probe at a time, never closer than the probe backoff.
    const outage = sender.calls.length;
    expect(outage).toBeLessThanOrEqual(4 + 10_000 / 400 + 1);
    const probes = sender.calls.slice(4);
    expect(probes.slice(1).every((c, i) => c.at - probes[i]!.at >= 400)).toBe(true);
    // Probes take each alert of the backlog in turn: first the one the failed batch did not try, then
    // round after round in the queue's order (SOS oldest first, the test alarm last). One the
    // receiver would refuse for itself never holds the others.
    const queue = [...sos.map((a) => a.alertId), testAlarm.alertId];
    const rounds = [testAlarm.alertId, ...sos.map((a) => a.alertId)];
    expect(probes.map((c) => c.job.alertId)).toEqual(probes.map((_, i) => rounds[i % rounds.length]));
    expect(f.status().state).toBe("unreachable");
    expect(seen).toEqual(["unreachable"]);

    down = false;
    await vi.advanceTimersByTimeAsync(400);
    // The next probe is delivered; then the rest of the backlog at once, in the queue's order.
    const [probe, ...drained] = sender.calls.slice(outage).map((c) => c.job.alertId);
    expect(probe).toBe(rounds[probes.length % rounds.length]);
    expect(drained).toEqual(queue.filter((id) => id !== probe));
    expect(seen).toEqual(["unreachable", "restored"]);
    expect(f.status().state).toBe("ok");
    expect((await store.countByDelivery()).pending).toBe(0);
    // Every attempt recorded, the same body each time.
    for (const id of queue) {
      const attempts = await store.attemptsFor(id);
      expect(attempts.length).toBe(sender.calls.filter((c) => c.job.alertId === id).length);
      expect(new Set(sender.calls.filter((c) => c.job.alertId === id).map((c) => c.job.body)).size).toBe(1);
    }
  });

  it("an alert the receiver refuses for itself (429 to one kiosk) holds no other: they are delivered within a probe delay and it backs off alone", async () => {
    const [poison, ...others] = await record(4);
    sender.answer = (_, job) => (job.alertId === poison!.alertId ? { ok: false, httpStatus: 429, error: "HTTP 429" } : ok);
    const f = forwarder({ concurrency: 1, circuit: { probeMinMs: 100, probeMaxMs: 400, jitter: 0 }, unreachableAfterMs: 5_000 });
    f.start();
    await vi.advanceTimersByTimeAsync(300);
    // Its first failure cannot tell (the circuit opens); the next probe, another alert, is delivered.
    for (const alert of others) expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "delivered" });
    expect(f.status().state).toBe("ok");
    // From then on the refused alert backs off on its own (retry: …, 400, 800, capped at 1 000 ms),
    // first past the backlog's drain (probeMaxMs after the close), which must not pull it forward.
    await vi.advanceTimersByTimeAsync(10_000);
    const retries = sender.calls.filter((c) => c.job.alertId === poison!.alertId);
    const gaps = retries.slice(2).map((c, i) => c.at - retries[i + 1]!.at);
    expect(gaps[0]).toBeGreaterThan(400);
    expect(gaps.slice(1, 3)).toEqual([400, 800]);
    expect(gaps.slice(3).every((g) => g === 1_000)).toBe(true);
    expect(gaps.length).toBeGreaterThan(8);
    expect(await store.getAlert(poison!.alertId)).toMatchObject({ delivery: "pending" });
    expect(f.status().state).toBe("ok");
  });

  it("a receiver that answers 500 (or 401, 404…) to every alert is reported unreachable, probed, and its backlog sent within a probe delay of its first 2xx", async () => {
    for (const failure of [
      { ok: false, httpStatus: 500, error: "HTTP 500" },
      { ok: false, httpStatus: 401, error: "HTTP 401" },
    ] satisfies SendResult[]) {
      const backlog = await record(3);
      let down = true;
      sender.answer = () => (down ? failure : ok);
      const seen: string[] = [];
      const off = bus.on("dispatch.unreachable", "test", () => seen.push("unreachable"));
      const f = forwarder({ concurrency: 4, circuit: { probeMinMs: 100, probeMaxMs: 400, jitter: 0 }, unreachableAfterMs: 5_000 });
      f.start();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(f.status()).toMatchObject({ state: "unreachable", lastError: failure.error });
      expect(seen).toEqual(["unreachable"]);
      down = false;
      await vi.advanceTimersByTimeAsync(400);
      for (const alert of backlog) expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "delivered" });
      expect(f.status().state).toBe("ok");
      off();
      await f.stop(0);
    }
  });

  it("a delivery the store cannot record is not sent again: kept in memory and recorded once the store writes", async () => {
    const [alert] = await record();
    let full = true;
    const real = store.recordAttempt.bind(store);
    vi.spyOn(store, "recordAttempt").mockImplementation((a, next) => (full ? Promise.reject(new Error("SQLITE_FULL: database or disk is full")) : real(a, next)));
    const delivered: GatewayEvents["alert.delivered"][] = [];
    bus.on("alert.delivered", "test", (e) => delivered.push(e));
    forwarder().start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sender.calls).toHaveLength(1);
    expect(delivered).toEqual([]);
    expect(logs.find("could not record a dispatch attempt (delivered; not sent again): kept in memory until the store can write").length).toBeGreaterThan(0);

    full = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sender.calls).toHaveLength(1);
    expect(await store.getAlert(alert!.alertId)).toMatchObject({ delivery: "delivered", attempts: 1 });
    expect((await store.attemptsFor(alert!.alertId)).map((a) => [a.attempt, a.ok])).toEqual([[1, true]]);
    expect(delivered).toHaveLength(1);
  });
});

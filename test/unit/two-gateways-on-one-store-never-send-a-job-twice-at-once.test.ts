/**
 * Two gateway processes on one store (two DispatchForwarders with their own claim owners, each on its
 * own SqliteStore instance of the same file): every alert goes to dispatch once, and a job held by a
 * gateway that died is sent by the other once the job's lease has run out, not before.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DispatchForwarder } from "../../gateway/dispatch/forwarder.js";
import type { DispatchSender, SendResult } from "../../gateway/dispatch/webhook.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { leaseFor } from "../../gateway/store/claims.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { DispatchJob } from "../../gateway/store/store.js";
import type { Clock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import { newAlert, T0 } from "../contracts/gateway-store-fixtures.js";
import { LogCapture } from "../fixtures/log-capture.js";

const clock: Clock = { now: () => new Date() }; // Date is faked along with the timers
const TIMEOUT_MS = 1_000;

/** The fake behind the DispatchSender port: answers 200 after `delayMs`, or never (a gateway that died mid-send). */
class Receiver implements DispatchSender {
  readonly sent: string[] = [];
  readonly open = new Map<string, number>();
  overlaps = 0;
  constructor(private readonly delayMs: number | "never") {}

  send(job: DispatchJob, _attempt: number, signal: AbortSignal): Promise<SendResult> {
    this.sent.push(job.alertId);
    this.open.set(job.alertId, (this.open.get(job.alertId) ?? 0) + 1);
    if ((this.open.get(job.alertId) ?? 0) > 1) this.overlaps += 1;
    return new Promise((resolve) => {
      const done = (result: SendResult): void => {
        this.open.set(job.alertId, (this.open.get(job.alertId) ?? 1) - 1);
        resolve(result);
      };
      if (this.delayMs !== "never") setTimeout(() => done({ ok: true, httpStatus: 200, error: null }), this.delayMs);
      signal.addEventListener("abort", () => done({ ok: false, httpStatus: null, error: "aborted: gateway shutting down" }), { once: true });
    });
  }
}

describe("two gateways on one store", () => {
  let dir: string;
  const stores: SqliteStore[] = [];
  const forwarders: DispatchForwarder[] = [];
  const logs = new LogCapture();

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dir = mkdtempSync(join(tmpdir(), "sos-two-gateways-"));
  });
  afterEach(async () => {
    for (const f of forwarders.splice(0)) {
      const stopped = f.stop(0);
      await vi.advanceTimersByTimeAsync(0);
      await stopped;
    }
    vi.useRealTimers();
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gateway = (owner: string, receiver: Receiver, concurrency: number): { store: SqliteStore; forwarder: DispatchForwarder } => {
    const store = SqliteStore.open(dir);
    stores.push(store);
    const bus = new EventBus<GatewayEvents>(logs.logger("bus"));
    const options = { retry: { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0 }, concurrency, timeoutMs: TIMEOUT_MS, claimOwner: owner };
    const forwarder = new DispatchForwarder(store, receiver, options, bus, clock, logs.logger(owner));
    forwarders.push(forwarder);
    return { store, forwarder };
  };

  it("send every alert to dispatch once, never the same one at the same time", async () => {
    const receiver = new Receiver(30);
    const a = gateway("gw-a", receiver, 4);
    const b = gateway("gw-b", receiver, 4);
    const alerts = Array.from({ length: 40 }, () => newAlert());
    for (const alert of alerts) await a.store.recordAlert(alert, new Date(), "{}");
    a.forwarder.start();
    b.forwarder.start();
    for (let i = 0; i < 40 && (await a.store.countByDelivery()).pending > 0; i += 1) {
      a.forwarder.wake();
      b.forwarder.wake();
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(await a.store.countByDelivery()).toEqual({ pending: 0, delivered: 40 });
    expect(receiver.overlaps).toBe(0);
    for (const owner of ["gw-a", "gw-b"]) expect(logs.find("alert delivered to dispatch", (l) => l.name === owner).length).toBeGreaterThan(0);
    expect([...receiver.sent].sort()).toEqual(alerts.map((x) => x.alertId).sort());
  });

  it("send a job whose gateway died mid-send again only once its lease has run out", async () => {
    const dead = gateway("gw-dead", new Receiver("never"), 3);
    const alive = new Receiver(10);
    const alerts = Array.from({ length: 5 }, () => newAlert());
    for (const alert of alerts) await dead.store.recordAlert(alert, new Date(), "{}");
    dead.forwarder.start();
    await vi.advanceTimersByTimeAsync(0); // it claims three and never hears back
    const b = gateway("gw-b", alive, 8);
    b.forwarder.start();
    await vi.advanceTimersByTimeAsync(leaseFor(TIMEOUT_MS) - 100);
    expect(alive.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    await vi.advanceTimersByTimeAsync(100);
    expect([...alive.sent].sort()).toEqual(alerts.map((x) => x.alertId).sort());
    expect(await b.store.countByDelivery()).toEqual({ pending: 0, delivered: 5 });
  });
});

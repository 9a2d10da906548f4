/**
 * The store watched for outages (gateway/store/availability.ts): a failed call makes it probe; an
 * unanswered probe is one outage, said once (log, store.down) however many calls fail meanwhile,
 * probed every probeMs until it answers, then said once again (store.up). Fake timers, fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StoreAvailability } from "../../gateway/store/availability.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

class FlakyStore {
  down = false;
  calls = 0;
  readonly health = {
    pendingDispatchCount: (): Promise<number> => {
      this.calls += 1;
      return this.down ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")) : Promise.resolve(0);
    },
  };
  getKiosk(id: string): Promise<string> {
    return this.down ? Promise.reject(new Error("write CONNECTION_CLOSED")) : Promise.resolve(id);
  }
  /** SQLite throws before any promise. */
  listKiosks(): string[] {
    if (this.down) throw new Error("SQLITE_CANTOPEN: unable to open database file");
    return [];
  }
}

describe("a store outage is said once and ends by itself", () => {
  let now = Date.parse("2026-12-05T10:00:00Z");
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function rig(): { raw: FlakyStore; store: FlakyStore; availability: StoreAvailability; logs: LogCapture; events: (keyof GatewayEvents)[]; downMs: number[] } {
    const logs = new LogCapture();
    const log = logs.logger("store");
    const bus = new EventBus<GatewayEvents>(log);
    const raw = new FlakyStore();
    const availability = new StoreAvailability({ probe: () => raw.health.pendingDispatchCount(), probeMs: 1_000, events: bus, clock: { now: () => new Date(now) }, log });
    const events: (keyof GatewayEvents)[] = [];
    const downMs: number[] = [];
    bus.on("store.down", "test", () => events.push("store.down"));
    bus.on("store.up", "test", (e) => {
      events.push("store.up");
      downMs.push(e.downMs);
    });
    return { raw, store: availability.watch(raw), availability, logs, events, downMs };
  }

  it("many failed calls during one outage: one error line, one store.down, probes every probeMs, then one line and store.up when it answers", async () => {
    const { raw, store, availability, logs, events, downMs } = rig();
    expect(await store.getKiosk("k1")).toBe("k1");
    raw.down = true;
    for (let i = 0; i < 20; i += 1) await expect(store.getKiosk("k1")).rejects.toThrow("CONNECTION_CLOSED");
    // SQLite throws before it makes a promise: through the watched store it is a rejection all the same.
    await expect(store.listKiosks()).rejects.toThrow("SQLITE_CANTOPEN");
    await vi.advanceTimersByTimeAsync(0);
    // The last error seen, for /readyz.
    expect(availability.status()).toEqual({ up: false, since: "2026-12-05T10:00:00.000Z", lastError: "SQLITE_CANTOPEN: unable to open database file" });
    expect(events).toEqual(["store.down"]);
    expect(logs.find("store unreachable: alerts are not acknowledged (kiosks keep them and resend) until it answers again")).toHaveLength(1);

    const probesBefore = raw.calls;
    now += 5_000;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(raw.calls - probesBefore).toBe(5); // every probeMs, one at a time
    for (let i = 0; i < 5; i += 1) await expect(store.getKiosk("k1")).rejects.toThrow();
    expect(events).toEqual(["store.down"]);
    expect(logs.lines.filter((l) => l.msg.startsWith("store unreachable"))).toHaveLength(1);

    raw.down = false;
    now += 1_000;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(availability.status()).toMatchObject({ up: true, since: null });
    expect(events).toEqual(["store.down", "store.up"]);
    expect(downMs).toEqual([6_000]);
    expect(logs.find("store reachable again: alerts are stored and acknowledged")).toHaveLength(1);
    const probesAfter = raw.calls;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(raw.calls).toBe(probesAfter); // no probing while it answers
    expect(await store.getKiosk("k2")).toBe("k2");
  });

  it("one refused call on a store that still answers (a constraint, a full disk) is not an outage", async () => {
    const { raw, store, availability, events } = rig();
    const refused = vi.spyOn(raw, "getKiosk").mockRejectedValueOnce(new Error("SQLITE_FULL: database or disk is full"));
    await expect(store.getKiosk("k1")).rejects.toThrow("SQLITE_FULL");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(refused).toHaveBeenCalledTimes(1);
    expect(availability.status().up).toBe(true);
    expect(events).toEqual([]);
  });

  it("stops probing when stopped", async () => {
    const { raw, store, availability } = rig();
    raw.down = true;
    await expect(store.getKiosk("k1")).rejects.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    availability.stop();
    const calls = raw.calls;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(raw.calls).toBe(calls);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { FaultMonitor } from "../../device/health/faults.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

const LINK_DOWN_MS = 120_000;

describe("FaultMonitor", () => {
  let bus: EventBus<KioskEvents>;
  let changes: (readonly string[])[];
  let monitor: FaultMonitor;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2025-01-02T03:00:00.000Z") });
    bus = new EventBus<KioskEvents>(new LogCapture().logger("bus"));
    changes = [];
    bus.on("fault.changed", "test", ({ faults }) => changes.push(faults));
    monitor = new FaultMonitor(bus, LINK_DOWN_MS);
  });

  afterEach(() => {
    monitor.stop();
    vi.useRealTimers();
  });

  it("no fault before faultAfterLinkDownMs from start", () => {
    monitor.start();
    vi.advanceTimersByTime(LINK_DOWN_MS - 1);
    expect(monitor.current).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('"no-gateway" once the gateway has been unreachable for faultAfterLinkDownMs from start', () => {
    monitor.start();
    vi.advanceTimersByTime(LINK_DOWN_MS);
    expect(monitor.current).toEqual(["no-gateway"]);
    expect(changes).toEqual([["no-gateway"]]);
  });

  it("a link that comes up before faultAfterLinkDownMs never shows the fault", () => {
    monitor.start();
    vi.advanceTimersByTime(LINK_DOWN_MS - 1);
    bus.emit("link.up", {});
    vi.advanceTimersByTime(24 * 60 * 60_000);
    expect(monitor.current).toEqual([]);
    expect(changes).toEqual([]);
  });

  it("link.up clears the fault at once", () => {
    monitor.start();
    vi.advanceTimersByTime(LINK_DOWN_MS);
    bus.emit("link.up", {});
    expect(monitor.current).toEqual([]);
    expect(changes).toEqual([["no-gateway"], []]);
  });

  it("link.down re-arms it: the fault comes back faultAfterLinkDownMs after the link dropped", () => {
    monitor.start();
    bus.emit("link.up", {});
    vi.advanceTimersByTime(60 * 60_000);
    bus.emit("link.down", { reason: "connection reset" });
    vi.advanceTimersByTime(LINK_DOWN_MS - 1);
    expect(monitor.current).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(monitor.current).toEqual(["no-gateway"]);
    expect(changes).toEqual([["no-gateway"]]);
  });

  it("repeated link.down (reconnect attempts failing) is timed from the first one, not restarted by each", () => {
    monitor.start();
    bus.emit("link.up", {});
    bus.emit("link.down", { reason: "connection reset" });
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(LINK_DOWN_MS / 10 - 1);
      bus.emit("link.down", { reason: "connect ECONNREFUSED" });
    }
    vi.advanceTimersByTime(10);
    expect(monitor.current).toEqual(["no-gateway"]);
  });

  it("changes are emitted once each: repeated link.down and link.up announce nothing new", () => {
    monitor.start();
    bus.emit("link.down", { reason: "connect ECONNREFUSED" });
    vi.advanceTimersByTime(LINK_DOWN_MS);
    bus.emit("link.down", { reason: "connect ECONNREFUSED" });
    vi.advanceTimersByTime(10 * LINK_DOWN_MS);
    expect(changes).toEqual([["no-gateway"]]);
    bus.emit("link.up", {});
    bus.emit("link.up", {});
    expect(changes).toEqual([["no-gateway"], []]);
    bus.emit("link.down", { reason: "connection reset" });
    vi.advanceTimersByTime(LINK_DOWN_MS);
    bus.emit("link.up", {});
    expect(changes).toEqual([["no-gateway"], [], ["no-gateway"], []]);
  });

  it("other faults join the list sorted, each change announced once, and no-gateway clears only itself", () => {
    monitor.start();
    monitor.set("self-test", true);
    monitor.set("self-test", true);
    vi.advanceTimersByTime(LINK_DOWN_MS);
    bus.emit("link.up", {});
    expect(changes).toEqual([["self-test"], ["no-gateway", "self-test"], ["self-test"]]);
    expect(monitor.current).toEqual(["self-test"]);
  });

  it("stop() cancels the pending fault", () => {
    monitor.start();
    monitor.stop();
    vi.advanceTimersByTime(10 * LINK_DOWN_MS);
    expect(changes).toEqual([]);
  });

  it('"alerts-refused" is reported (not a light) while an alert the gateway refused is unacknowledged, and clears with its ack', () => {
    bus.emit("alert.refused", { alertId: "a1", code: "KIOSK_MISMATCH", reason: "x" });
    bus.emit("alert.refused", { alertId: "a2", code: "KIOSK_MISMATCH", reason: "x" });
    expect(monitor.all).toEqual(["alerts-refused"]);
    expect(monitor.current).toEqual([]);
    expect(changes).toEqual([]);
    bus.emit("alert.acked", { alertId: "other", receivedAt: "", duplicate: false, latencyMs: 1 });
    bus.emit("alert.acked", { alertId: "a1", receivedAt: "", duplicate: false, latencyMs: 1 });
    expect(monitor.all).toEqual(["alerts-refused"]);
    bus.emit("alert.acked", { alertId: "a2", receivedAt: "", duplicate: false, latencyMs: 1 });
    expect(monitor.all).toEqual([]);
  });
});

/**
 * The gateway's own troubles on the ops webhook (gateway/supervision/gateway-ops.ts): dispatch
 * unreachable/restored as they are announced; stalls in a burst reported at once for the first and
 * then at most once per interval, with the count and the longest; and in the ops outbox, the
 * gateway's events (no kiosk) go out one after another in the order they were queued.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GatewayEvents } from "../../gateway/events.js";
import type { QueuedOpsEvent } from "../../gateway/store/health-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { buildGatewayOpsEvent, reportGatewayEvents } from "../../gateway/supervision/gateway-ops.js";
import { EventBus } from "../../shared/events.js";
import { gatewayOpsEventSchema } from "../../shared/ops.js";

const T0 = Date.parse("2026-12-05T03:00:00.000Z");
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

describe("the gateway's troubles become ops events", () => {
  afterEach(() => vi.useRealTimers());

  function rig(stallReportMs = 60_000): { bus: EventBus<GatewayEvents>; queued: QueuedOpsEvent[]; off: () => void } {
    vi.useFakeTimers({ now: T0 });
    const bus = new EventBus<GatewayEvents>(pino({ level: "silent" }));
    const queued: QueuedOpsEvent[] = [];
    const offs = reportGatewayEvents(bus, (e) => queued.push(e), { now: () => Date.now(), stallReportMs });
    return { bus, queued, off: () => offs.forEach((f) => f()) };
  }
  const bodies = (queued: QueuedOpsEvent[]) => queued.map((q) => gatewayOpsEventSchema.parse(JSON.parse(q.body)));

  it("dispatch unreachable and restored are each one event, valid against the schema, with no kiosk", () => {
    const { bus, queued, off } = rig();
    bus.emit("dispatch.unreachable", { since: iso(0), at: iso(30_000), lastError: "ECONNREFUSED" });
    bus.emit("dispatch.restored", { since: iso(0), at: iso(95_500), downMs: 95_500, lastError: "HTTP 503" });
    off();
    expect(queued.map((q) => [q.kioskId, q.type])).toEqual([
      [null, "dispatch-unreachable"],
      [null, "dispatch-restored"],
    ]);
    expect(bodies(queued)).toMatchObject([
      { type: "dispatch-unreachable", since: iso(0), at: iso(30_000), lastError: "ECONNREFUSED", durationMs: null },
      { type: "dispatch-restored", since: iso(0), at: iso(95_500), lastError: "HTTP 503", durationMs: 95_500 },
    ]);
  });

  it("a burst of stalls is the first at once and then one event per interval counting the rest and the longest", () => {
    const { bus, queued, off } = rig(60_000);
    bus.emit("gateway.stalled", { ms: 1_500, at: iso(0) });
    expect(bodies(queued)).toMatchObject([{ type: "gateway-stalled", stalls: 1, durationMs: 1_500, since: iso(0) }]);
    for (let i = 1; i <= 40; i += 1) {
      vi.advanceTimersByTime(1_000);
      bus.emit("gateway.stalled", { ms: i === 20 ? 9_000 : 1_200, at: iso(i * 1_000) });
    }
    expect(queued).toHaveLength(1);
    vi.advanceTimersByTime(20_000);
    expect(bodies(queued)).toHaveLength(2);
    expect(bodies(queued)[1]).toMatchObject({ type: "gateway-stalled", stalls: 40, durationMs: 9_000, since: iso(1_000) });
    // Quiet afterwards: nothing more.
    vi.advanceTimersByTime(600_000);
    expect(queued).toHaveLength(2);
    off();
  });

  it("the gateway's events leave the ops outbox in the order they were queued, beside the kiosks' events", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sos-gateway-ops-"));
    const store = SqliteStore.open(dir);
    try {
      const down = buildGatewayOpsEvent("dispatch-unreachable", { since: iso(0), at: iso(30_000), lastError: "ECONNREFUSED" }, "gw-test");
      const up = buildGatewayOpsEvent("dispatch-restored", { since: iso(0), at: iso(31_000), durationMs: 31_000 }, "gw-test");
      const kiosk: QueuedOpsEvent = { eventId: "k-event", kioskId: "k-1", type: "transition", body: "{}", createdAt: iso(30_500) };
      await store.health.recordSupervision({ transitions: [], events: [down, kiosk, up] });
      const now = new Date(T0 + 60_000);
      expect((await store.health.claimOps(now, 10, { owner: "test", now, leaseMs: 0 })).map((j) => j.id)).toEqual([down.eventId, "k-event"]);
      await store.health.recordOpsAttempt({ id: down.eventId, attempt: 1, startedAt: iso(60_000), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
      expect((await store.health.claimOps(now, 10, { owner: "test", now, leaseMs: 0 })).map((j) => j.id)).toEqual(["k-event", up.eventId]);
      expect((await store.health.listOps(10)).map((r) => [r.kioskId, r.type])).toEqual([
        [null, "dispatch-restored"],
        ["k-1", "transition"],
        [null, "dispatch-unreachable"],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

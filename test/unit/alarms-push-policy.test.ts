/**
 * What the alarms feature pushes to the console's pages (real SQLite store, real event bus, fake
 * timers; the event stream's send is observed): a kiosk row only when its state or failing parts
 * change, heartbeat times in one batch at most every 15 s with only the kiosks that beat; the call
 * step once per call, by the authenticated operator whose accept the kiosk took, only for the ringing kiosk's
 * own alarm; test alarms never pushed; a command confirmation pushes only recently closed alarms; an
 * alarm's view is built only where pages listen, sent once per change, and the other nodes are told
 * which alarm changed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallGuard } from "../../gateway/alarms/call-guard.js";
import { AlarmsFeature, HEARTBEAT_PUSH_MS } from "../../gateway/alarms/feature.js";
import type { GatewayBroker } from "../../gateway/broker/broker.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { KioskView } from "../../gateway/supervision/supervisor.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import type { Alert } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { systemClock } from "../../shared/clock.js";
import { LogCapture } from "../fixtures/log-capture.js";

const KIOSKS = Array.from({ length: 50 }, (_, i) => `kz-push-${String(i).padStart(4, "0")}`);
const [A = "", B = ""] = KIOSKS;

let dir: string;
let store: SqliteStore;
let events: EventBus<GatewayEvents>;
let feature: AlarmsFeature;
let callUp: (kioskId: string, topic: string, payload: Buffer) => Promise<void>;
let callDown: (operator: string, topic: string, payload: Buffer) => void;
let sent: { event: string; data: unknown }[];
let told: { event: string; data: unknown }[];
let pagesHere: { mockReturnValue(n: number): unknown };
let heard: { mockReturnValue(b: boolean): unknown };
const live = new Map<string, KioskView>();

const settle = async (): Promise<void> => {
  // Kiosk rows for the pages are read over a 10 ms window (alarms/feature.ts): past it, then any follow-ups.
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(20);
};
const of = (event: string) => sent.filter((s) => s.event === event);

async function storeAlert(kioskId: string, kind: Alert["kind"] = "sos"): Promise<string> {
  const alertId = crypto.randomUUID();
  await store.recordAlert({ v: 1, alertId, kioskId, kind, pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "A2 km 12" } }, new Date(), "{}");
  return alertId;
}

const up = (kioskId: string, message: Record<string, unknown>) => callUp(kioskId, `sos/v1/kiosks/${kioskId}/call/up`, Buffer.from(JSON.stringify({ v: 1, ...message })));
const down = (operator: string, kioskId: string, message: Record<string, unknown>) => callDown(operator, `sos/v1/kiosks/${kioskId}/call/down`, Buffer.from(JSON.stringify({ v: 1, ...message })));

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00.000Z") });
  dir = mkdtempSync(join(tmpdir(), "sos-push-"));
  store = SqliteStore.open(dir);
  for (const kioskId of KIOSKS) {
    await store.putKiosk({ kioskId, secretHash: "x", name: null, location: { lat: 43.25, lon: 76.95, address: "A2 km 12" }, region: null }, { replace: false, now: new Date() });
  }
  const logs = new LogCapture();
  events = new EventBus<GatewayEvents>(logs.logger("bus"));
  live.clear();
  feature = new AlarmsFeature(parseGatewayConfig({ dataDir: dir }), {
    store,
    events,
    clock: systemClock,
    log: logs.logger("gw"),
    userAgent: "test",
    kioskState: (kioskId) => live.get(kioskId),
    close: () => Promise.resolve("closed"),
    callGuard: new CallGuard(parseGatewayConfig({ dataDir: dir }).limits, { store, events, log: logs.logger("calls") }),
  });
  const broker = { handle: (_topic: string, handler: typeof callUp) => (callUp = handler), handleOperator: (_topic: string, handler: typeof callDown) => (callDown = handler) } as unknown as GatewayBroker;
  feature.attach(broker);
  await feature.start();
  sent = [];
  told = [];
  heard = vi.spyOn(feature.stream, "listened", "get").mockReturnValue(true);
  // A page listens on this node; what is sent to it, and what the other nodes are told.
  pagesHere = vi.spyOn(feature.stream, "size", "get").mockReturnValue(1);
  vi.spyOn(feature.stream, "send").mockImplementation((event, data) => void sent.push({ event, data }));
  vi.spyOn(feature.stream, "deliver").mockImplementation((event, data) => void sent.push({ event, data }));
  vi.spyOn(feature.stream, "tellOthers").mockImplementation((event, data) => void told.push({ event, data }));
});

afterEach(async () => {
  await feature.stop(0);
  vi.useRealTimers();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function setState(kioskId: string, state: KioskView["state"], components: string[] = []): void {
  live.set(kioskId, { kioskId, state, since: new Date().toISOString(), reason: "test", components, reminders: 0 });
  events.emit("kiosk.state", { kioskId, from: "online", to: state, reason: "test", components, at: new Date().toISOString() });
}

describe("fleet pushes", () => {
  it("heartbeats push no kiosk rows: one batch per 15 s naming only the kiosks that beat since the last batch", async () => {
    // Every kiosk beats (twice: every 10 s would give that and more within one period).
    for (let round = 0; round < 2; round++) {
      for (const kioskId of KIOSKS) events.emit("kiosk.heartbeat", { kioskId, valid: true });
      await vi.advanceTimersByTimeAsync(HEARTBEAT_PUSH_MS / 2 - 1);
    }
    expect(of("kiosk")).toHaveLength(0);
    expect(of("heartbeats")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2);
    expect(of("heartbeats")).toHaveLength(1);
    const batch = of("heartbeats")[0]?.data as { kiosks: { kioskId: string; lastHeartbeatAt: string }[] };
    expect(batch.kiosks.map((k) => k.kioskId).sort()).toEqual(KIOSKS);
    // Only B beats during the next period; an invalid heartbeat is no heartbeat.
    events.emit("kiosk.heartbeat", { kioskId: B, valid: true });
    events.emit("kiosk.heartbeat", { kioskId: A, valid: false });
    await vi.advanceTimersByTimeAsync(HEARTBEAT_PUSH_MS);
    expect(of("heartbeats")).toHaveLength(2);
    expect((of("heartbeats")[1]?.data as { kiosks: { kioskId: string }[] }).kiosks.map((k) => k.kioskId)).toEqual([B]);
    // Nobody beat: nothing is sent.
    await vi.advanceTimersByTimeAsync(HEARTBEAT_PUSH_MS * 2);
    expect(of("heartbeats")).toHaveLength(2);
  });

  it("a kiosk row is pushed when its state or failing parts change, and not again for the same state", async () => {
    setState(A, "degraded", ["camera"]);
    await settle();
    setState(A, "degraded", ["camera"]);
    await settle();
    expect(of("kiosk").map((s) => (s.data as { state: string }).state)).toEqual(["degraded"]);
    setState(A, "degraded", ["camera", "speaker"]);
    await settle();
    setState(A, "online");
    await settle();
    expect(of("kiosk").map((s) => (s.data as { components: string[] }).components.join(","))).toEqual(["camera", "camera,speaker", ""]);
  });

  it("a change nobody heard (no page on any node) does not stop the same state from being pushed once pages listen again", async () => {
    setState(A, "offline");
    await settle();
    heard.mockReturnValue(false);
    setState(A, "online");
    await settle();
    heard.mockReturnValue(true);
    // A page that opened meanwhile read A online; A goes offline again: the page must hear it.
    setState(A, "offline");
    await settle();
    expect(of("kiosk").map((s) => (s.data as { state: string }).state)).toEqual(["offline", "offline"]);
  });
});

describe("the call-connected step", () => {
  it("is stored once per call, by the authenticated operator whose accept the kiosk took (not the name the kiosk states)", async () => {
    const alertId = await storeAlert(A);
    await up(A, { type: "ring", callId: "call-0001", alertId, at: new Date().toISOString() });
    down("alice", A, { type: "accept", callId: "call-0001", operator: "alice", pageId: "page-0001" });
    await up(A, { type: "state", callId: "call-0001", state: "connecting", operator: "mallory", pageId: "page-0001" });
    await up(A, { type: "state", callId: "call-0001", state: "connected" });
    await up(A, { type: "state", callId: "call-0001", state: "connected" });
    await settle();
    const steps = (await store.alarms.steps(alertId)).filter((s) => s.type === "call-connected");
    expect(steps.map((s) => s.actor)).toEqual(["alice"]);
  });

  it("is not stored when the ring named an alarm of another kiosk", async () => {
    const alertId = await storeAlert(A);
    await up(B, { type: "ring", callId: "call-0002", alertId, at: new Date().toISOString() });
    await up(B, { type: "state", callId: "call-0002", state: "connecting", operator: "mallory", pageId: "page-0002" });
    await up(B, { type: "state", callId: "call-0002", state: "connected" });
    await settle();
    expect((await store.alarms.steps(alertId)).filter((s) => s.type === "call-connected")).toHaveLength(0);
  });
});

describe("alarm pushes", () => {
  it("a test alarm's later steps (delivered, presses) are never pushed to the pages", async () => {
    const testId = await storeAlert(A, "test");
    const sosId = await storeAlert(B, "sos");
    const now = new Date().toISOString();
    for (const [alertId, kioskId, kind] of [[testId, A, "test"], [sosId, B, "sos"]] as const) {
      events.emit("alert.stored", { alertId, kioskId, kind, pressedAt: now, receivedAt: now });
    }
    await settle();
    events.emit("alert.delivered", { alertId: testId, attempt: 1, httpStatus: 200, deliveredAt: now });
    events.emit("alert.presses", { alertId: testId, kioskId: A, pressCount: 2 });
    events.emit("alert.delivered", { alertId: sosId, attempt: 1, httpStatus: 200, deliveredAt: now });
    await settle();
    const pushed = of("alarm").map((s) => (s.data as { alertId: string }).alertId);
    expect(pushed).not.toContain(testId);
    expect(pushed).toContain(sosId);
  });

  it("a kiosk's command confirmation pushes its alarms closed in the last minute, not older ones", async () => {
    const old = await storeAlert(A);
    await store.closeAlert(old, { outcome: "other", closedBy: "cli", now: new Date(), commandId: "c-old", command: () => "{}" });
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    const fresh = await storeAlert(A);
    await store.closeAlert(fresh, { outcome: "other", closedBy: "cli", now: new Date(), commandId: "c-new", command: () => "{}" });
    sent.length = 0;
    events.emit("command.confirmed", { commandId: "c-new", kioskId: A });
    await settle();
    expect(of("alarm").map((s) => (s.data as { alertId: string }).alertId)).toEqual([fresh]);
  });

  it("a node without pages reads no alarm views, and still tells the other nodes which alarm changed", async () => {
    pagesHere.mockReturnValue(0);
    const alertId = await storeAlert(B);
    const reads = vi.spyOn(store, "getAlert");
    const now = new Date().toISOString();
    events.emit("alert.stored", { alertId, kioskId: B, kind: "sos", pressedAt: now, receivedAt: now });
    events.emit("alert.delivered", { alertId, attempt: 1, httpStatus: 200, deliveredAt: now });
    await settle();
    expect(reads).not.toHaveBeenCalled();
    expect(of("alarm")).toHaveLength(0);
    expect(told.filter((t) => t.event === "alarm-changed").map((t) => (t.data as { alertId: string }).alertId)).toEqual([alertId, alertId]);
  });

  it("steps that come while an alarm's view is built are folded into one more view, and an unchanged view is not sent again", async () => {
    const alertId = await storeAlert(B);
    const reads = vi.spyOn(store, "getAlert");
    // Another node stored five steps of one alarm in a burst: this node's page gets it once.
    for (let i = 0; i < 5; i++) feature.pages.show(alertId);
    await settle();
    expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
    expect(of("alarm")).toHaveLength(1);
    feature.pages.show(alertId);
    await settle();
    expect(of("alarm")).toHaveLength(1);
    // A real change is sent.
    await store.alarms.acknowledge(alertId, "op-1", new Date());
    feature.pages.show(alertId);
    await settle();
    expect(of("alarm").map((s) => (s.data as { status: string }).status)).toEqual(["received", "acknowledged"]);
  });
});

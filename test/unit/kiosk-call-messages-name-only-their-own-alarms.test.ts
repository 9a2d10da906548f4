/**
 * The call guard's policy (gateway/alarms/call-guard.ts): a kiosk's call/up message passes only if it
 * matches the contract within its size cap and any alarm it names is the kiosk's own (open, for a
 * ring). Refusals are counted (call.refused) and logged sampled; operators' call/down messages that
 * break the contract are counted and logged the same way.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AlarmOwner, CallGuard, decideCallUp, MAX_CALL_MESSAGE_BYTES } from "../../gateway/alarms/call-guard.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

const AT = "2026-11-25T10:00:00.000Z";
const msg = (m: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 1, ...m }));
const ring = (alertId: string): Buffer => msg({ type: "ring", callId: "call-0001", alertId, at: AT });
const alarms = new Map<string, AlarmOwner>([
  ["alert-a-open", { kioskId: "kz-a", closed: false }],
  ["alert-a-closed", { kioskId: "kz-a", closed: true }],
  ["alert-b-open", { kioskId: "kz-b", closed: false }],
]);
const lookup = (alertId: string): Promise<AlarmOwner | undefined> => Promise.resolve(alarms.get(alertId));
const refusal = async (kioskId: string, payload: Buffer): Promise<string | null> => {
  const v = await decideCallUp(kioskId, payload, lookup);
  return v.ok ? null : v.refusal;
};

describe("the call/up policy", () => {
  it("passes a ring on the kiosk's own open alarm; refuses one on another kiosk's, a closed or an unknown alarm", async () => {
    expect(await refusal("kz-a", ring("alert-a-open"))).toBeNull();
    expect(await refusal("kz-a", ring("alert-b-open"))).toBe("another-kiosks-alarm");
    expect(await refusal("kz-a", ring("alert-a-closed"))).toBe("alarm-closed");
    expect(await refusal("kz-a", ring("alert-nobody"))).toBe("unknown-alarm");
    expect(await refusal("kz-a", ring(""))).toBe("unknown-alarm");
  });

  it("a state naming an alarm must name one of the kiosk's (closed or not); messages naming none pass", async () => {
    const connected = (alertId: string): Buffer => msg({ type: "state", callId: "call-0001", state: "connected", operator: "alice", alertId });
    expect(await refusal("kz-a", connected("alert-a-open"))).toBeNull();
    expect(await refusal("kz-a", connected("alert-a-closed"))).toBeNull();
    expect(await refusal("kz-a", connected("alert-b-open"))).toBe("another-kiosks-alarm");
    expect(await refusal("kz-a", msg({ type: "state", callId: "call-0001", state: "connecting", operator: "alice" }))).toBeNull();
    expect(await refusal("kz-a", msg({ type: "offer", callId: "call-0001", sdp: "v=0" }))).toBeNull();
    expect(await refusal("kz-a", msg({ type: "ice", callId: "call-0001", candidate: { candidate: "candidate:1 1 udp 1 192.0.2.1 1 typ host" } }))).toBeNull();
    expect(await refusal("kz-a", msg({ type: "hangup", callId: "call-0001", reason: "bye" }))).toBeNull();
  });

  it("refuses what breaks the contract: not JSON, a wrong shape, over the size cap (before parsing)", async () => {
    expect(await refusal("kz-a", Buffer.from("{not json"))).toBe("malformed");
    expect(await refusal("kz-a", msg({ type: "ring", callId: "x" }))).toBe("malformed");
    expect(await refusal("kz-a", msg({ type: "offer", callId: "call-0001", sdp: "x".repeat(MAX_CALL_MESSAGE_BYTES) }))).toBe("too-large");
  });

  it("refuses when the alarm cannot be looked up", async () => {
    const v = await decideCallUp("kz-a", ring("alert-a-open"), () => Promise.reject(new Error("disk I/O error")));
    expect(v).toEqual({ ok: false, refusal: "lookup-failed", detail: "alarm alert-a-open: disk I/O error" });
  });
});

describe("the call guard at the broker", () => {
  let dir: string;
  let store: SqliteStore;
  let guard: CallGuard;
  let logs: LogCapture;
  let refused: GatewayEvents["call.refused"][];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-callguard-"));
    store = SqliteStore.open(dir);
    logs = new LogCapture();
    const events = new EventBus<GatewayEvents>(logs.logger("bus"));
    refused = [];
    events.on("call.refused", "test", (e) => refused.push(e));
    const limits = parseGatewayConfig({ dataDir: dir, limits: { refusalLogPerKey: 3 } }).limits;
    guard = new CallGuard(limits, { store, events, log: logs.logger("calls") });
    for (const kioskId of ["kz-a", "kz-b"]) {
      await store.recordAlert({ v: 1, alertId: `0000000${kioskId === "kz-a" ? "a" : "b"}-0000-4000-8000-000000000000`, kioskId, kind: "sos", pressedAt: AT, location: { lat: 1, lon: 1, address: "x" } }, new Date(), "{}");
    }
  });

  afterEach(async () => {
    guard.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const A_ALARM = "0000000a-0000-4000-8000-000000000000";
  const B_ALARM = "0000000b-0000-4000-8000-000000000000";

  it("checks call/up against the store, lets other topics through, counts and logs refusals sampled", async () => {
    expect(await guard.checkKioskPublish("kz-a", "sos/v1/kiosks/kz-a/call/up", ring(A_ALARM))).toBeNull();
    expect(await guard.checkKioskPublish("kz-a", "sos/v1/kiosks/kz-a/alerts", Buffer.from("not a call"))).toBeNull();
    for (let i = 0; i < 10; i += 1) {
      expect(await guard.checkKioskPublish("kz-a", "sos/v1/kiosks/kz-a/call/up", ring(B_ALARM))).toBe(`another-kiosks-alarm: alarm ${B_ALARM} belongs to kiosk kz-b`);
    }
    expect(refused).toHaveLength(10);
    expect(refused[0]).toEqual({ direction: "up", reason: "another-kiosks-alarm", kioskId: "kz-a" });
    // Three lines one by one, the rest in one line when the window ends.
    expect(logs.find("call message refused: dropped")).toHaveLength(3);
    expect(logs.find("call message refused: dropped")[0]).toMatchObject({ kioskId: "kz-a", reason: "another-kiosks-alarm", detail: `alarm ${B_ALARM} belongs to kiosk kz-b` });
    guard.stop();
    expect(logs.find("call message refusals not logged one by one")).toEqual([expect.objectContaining({ label: "call-up:another-kiosks-alarm", suppressed: 7 })]);
  });

  it("counts and logs an operator's call/down that breaks the contract, and parses a valid one", () => {
    const topic = "sos/v1/kiosks/kz-a/call/down";
    expect(guard.operatorMessage("alice", topic, Buffer.from("not json"))).toBeUndefined();
    expect(guard.operatorMessage("alice", topic, msg({ type: "accept", callId: "x" }))).toBeUndefined();
    expect(guard.operatorMessage("alice", topic, msg({ type: "accept", callId: "call-0001", operator: "alice", pageId: "page-0001" }))).toEqual({ v: 1, type: "accept", callId: "call-0001", operator: "alice", pageId: "page-0001" });
    expect(refused).toEqual([
      { direction: "down", reason: "malformed", kioskId: "kz-a" },
      { direction: "down", reason: "malformed", kioskId: "kz-a" },
    ]);
    expect(logs.find("call message breaks the contract")).toEqual([
      expect.objectContaining({ operator: "alice", kioskId: "kz-a", detail: "not JSON" }),
      expect.objectContaining({ operator: "alice", kioskId: "kz-a", reason: "malformed" }),
    ]);
  });
});

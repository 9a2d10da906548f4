import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { AlertDelivery, type AlertPublisher } from "../../device/link/delivery.js";
import { Outbox } from "../../device/link/outbox.js";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { Ack, Alert } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

/** The fake behind the AlertPublisher port: records every publish; `failNext` makes publishes reject. */
class FakePublisher implements AlertPublisher {
  isUp = true;
  failNext = 0;
  readonly published: Alert[] = [];

  publishAlert(alert: Alert): Promise<void> {
    this.published.push(alert);
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new Error("client disconnecting"));
    }
    return Promise.resolve();
  }

  ids(): string[] {
    return this.published.map((a) => a.alertId);
  }
}

const policy: KioskConfig["alerts"] = { ackTimeoutMs: 1_000, resend: { minMs: 500, maxMs: 2_000, factor: 2, jitter: 0 } };
const clock: Clock = { now: () => new Date() }; // Date is faked along with the timers

let seq = 0;
function newAlert(pressedAt: Date = new Date()): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId: "kz-hwy-0001",
    kind: "sos",
    pressedAt: pressedAt.toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  };
}

const okAck = (alertId: string, duplicate = false): Ack => ({ v: 1, alertId, status: "ok", data: { receivedAt: new Date().toISOString(), duplicate } });
const errorAck = (alertId: string): Ack => ({ v: 1, alertId, status: "error", error: { code: "PAYLOAD_INVALID", message: "kind: bad" } });

describe("AlertDelivery", () => {
  let dataDir: string;
  let logs: LogCapture;
  let outbox: Outbox;
  let link: FakePublisher;
  let bus: EventBus<KioskEvents>;
  let delivery: AlertDelivery;
  let published: KioskEvents["alert.published"][];
  let acked: KioskEvents["alert.acked"][];

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2025-01-02T03:00:00.000Z") });
    dataDir = mkdtempSync(join(tmpdir(), "sos-delivery-"));
    logs = new LogCapture();
    outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    link = new FakePublisher();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    published = [];
    acked = [];
    bus.on("alert.published", "test", (e) => published.push(e));
    bus.on("alert.acked", "test", (e) => acked.push(e));
    delivery = new AlertDelivery(outbox, link, policy, bus, clock, logs.logger("delivery", "debug"));
  });

  afterEach(() => {
    delivery.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** As the kiosk does on a press: record in the outbox, then hand to delivery. */
  const press = (at?: Date): Alert => {
    const alert = newAlert(at);
    outbox.append(alert);
    delivery.submit(alert);
    return alert;
  };

  it("publishes on submit when the link is up", async () => {
    const alert = press();
    expect(link.ids()).toEqual([alert.alertId]);
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toEqual([{ alertId: alert.alertId, attempt: 1 }]);
  });

  it("does not publish on submit when the link is down, nor later while it stays down", async () => {
    link.isUp = false;
    press();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(link.published).toEqual([]);
    expect(outbox.depth).toBe(1);
  });

  it("onLinkUp publishes every pending alert, oldest press first", async () => {
    link.isUp = false;
    const t0 = Date.now();
    const middle = press(new Date(t0 - 2_000));
    const newest = press(new Date(t0 - 1_000));
    const oldest = press(new Date(t0 - 3_000));
    expect(link.published).toEqual([]);
    link.isUp = true;
    delivery.onLinkUp();
    expect(link.ids()).toEqual([oldest.alertId, middle.alertId, newest.alertId]);
    await vi.advanceTimersByTimeAsync(0);
    expect(published.map((p) => p.alertId)).toEqual([oldest.alertId, middle.alertId, newest.alertId]);
  });

  it("onLinkUp also sends alerts a previous run left in the outbox", () => {
    const leftover = newAlert();
    outbox.append(leftover);
    const reopened = new Outbox(dataDir, logs.logger("outbox"));
    reopened.open();
    const fresh = new AlertDelivery(reopened, link, policy, bus, clock, logs.logger("delivery"));
    fresh.onLinkUp();
    fresh.stop();
    expect(link.ids()).toEqual([leftover.alertId]);
  });

  it("without an ack within ackTimeoutMs the alert is published again, then with growing backoff capped at maxMs", async () => {
    const alert = press();
    const publishesAt = async (ms: number): Promise<number> => {
      await vi.advanceTimersByTimeAsync(ms);
      return link.published.length;
    };
    expect(link.published).toHaveLength(1);
    expect(await publishesAt(999)).toBe(1);
    expect(await publishesAt(1)).toBe(2); // ackTimeoutMs
    expect(await publishesAt(499)).toBe(2);
    expect(await publishesAt(1)).toBe(3); // resend.minMs
    expect(await publishesAt(999)).toBe(3);
    expect(await publishesAt(1)).toBe(4); // × factor
    expect(await publishesAt(1_999)).toBe(4);
    expect(await publishesAt(1)).toBe(5); // capped at maxMs
    expect(await publishesAt(2_000)).toBe(6); // stays at maxMs
    expect(await publishesAt(2_000)).toBe(7);
    expect(new Set(link.ids())).toEqual(new Set([alert.alertId]));
    expect(published.map((p) => p.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(logs.find("no ack from gateway yet: sending the alert again")).toHaveLength(6);
  });

  it("a resend that falls due while the link is down waits for onLinkUp, then continues the backoff", async () => {
    press();
    link.isUp = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(link.published).toHaveLength(1);
    link.isUp = true;
    delivery.onLinkUp();
    expect(link.published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(link.published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.published).toHaveLength(3);
  });

  it("an ok ack removes the alert from the outbox, emits alert.acked, and stops the resends", async () => {
    const alert = press();
    await vi.advanceTimersByTimeAsync(250);
    delivery.onAck(okAck(alert.alertId));
    expect(outbox.get(alert.alertId)).toBeUndefined();
    expect(outbox.depth).toBe(0);
    expect(existsSync(join(dataDir, "outbox", `${alert.alertId}.alert.json`))).toBe(false);
    expect(acked).toEqual([{ alertId: alert.alertId, receivedAt: expect.any(String) as string, duplicate: false, latencyMs: 250 }]);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(link.published).toHaveLength(1);
  });

  it("an ok ack for one alert leaves the others pending", () => {
    const a = press();
    const b = press();
    delivery.onAck(okAck(a.alertId, true));
    expect(outbox.pending()).toEqual([b]);
    expect(acked.map((e) => [e.alertId, e.duplicate])).toEqual([[a.alertId, true]]);
  });

  it("a late duplicate ok ack for an alert already removed is ignored", () => {
    const alert = press();
    delivery.onAck(okAck(alert.alertId));
    delivery.onAck(okAck(alert.alertId));
    expect(acked).toHaveLength(1);
  });

  it("an error ack keeps the alert in the outbox and it is published again", async () => {
    const alert = press();
    delivery.onAck(errorAck(alert.alertId));
    expect(outbox.get(alert.alertId)?.alert).toEqual(alert);
    expect(existsSync(join(dataDir, "outbox", `${alert.alertId}.alert.json`))).toBe(true);
    expect(acked).toEqual([]);
    expect(logs.find("gateway refused the alert: kept in the outbox and retried; report this to the gateway team")[0]).toMatchObject({
      level: "error",
      alertId: alert.alertId,
      code: "PAYLOAD_INVALID",
    });
    await vi.advanceTimersByTimeAsync(policy.ackTimeoutMs);
    expect(link.ids()).toEqual([alert.alertId, alert.alertId]);
  });

  it("a failing publish keeps the alert in the outbox and it is published again", async () => {
    link.failNext = 1;
    const alert = press();
    await vi.advanceTimersByTimeAsync(0);
    expect(outbox.get(alert.alertId)?.alert).toEqual(alert);
    expect(published).toEqual([]);
    expect(logs.find("alert publish failed; will retry")[0]).toMatchObject({ level: "warn", alertId: alert.alertId, attempt: 1 });
    await vi.advanceTimersByTimeAsync(policy.ackTimeoutMs);
    expect(link.published).toHaveLength(2);
    expect(published).toEqual([{ alertId: alert.alertId, attempt: 2 }]);
    delivery.onAck(okAck(alert.alertId));
    expect(outbox.depth).toBe(0);
  });

  it("stop() cancels every pending resend and later publishes", async () => {
    press();
    delivery.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    delivery.onLinkUp();
    expect(link.published).toHaveLength(1);
  });
});

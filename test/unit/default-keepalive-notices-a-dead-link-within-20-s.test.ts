import { KeepaliveManager, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deadLinkNoticedWithinMs } from "../../device/link/reconnect-policy.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";

const defaults = parseKioskConfig({
  version: 1,
  kioskId: "kz-test-0001",
  location: { lat: 43.2, lon: 76.9, address: "test" },
  mqtt: { url: "mqtt://127.0.0.1:1883", username: "kz-test-0001", password: "secret" },
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a silently dead link is noticed within 20 s with the default keepalive", () => {
  it("the link's own pings (a heartbeat carries one too) are more frequent than the keepalive, so mqtt.js sends no pings of its own", () => {
    expect(defaults.mqtt.pingIntervalMs).toBeLessThan(defaults.mqtt.keepaliveSeconds * 1_000);
    expect(defaults.health.heartbeatIntervalS * 1_000).toBeGreaterThanOrEqual(defaults.mqtt.pingIntervalMs);
  });

  it("the bound computed from kiosk.json's default keepalive is at most 20 s", () => {
    expect(defaults.mqtt.keepaliveSeconds).toBe(12);
    expect(deadLinkNoticedWithinMs(defaults.mqtt.keepaliveSeconds)).toBe(18_000);
    expect(deadLinkNoticedWithinMs(defaults.mqtt.keepaliveSeconds)).toBeLessThanOrEqual(20_000);
  });

  it("the link's unanswered ping gives it up sooner: 5 s + 5 s, inside the 12 s keepalive window and the gateway's 20 s silence timeout", () => {
    const pings = { pingIntervalMs: defaults.mqtt.pingIntervalMs, pingTimeoutMs: defaults.mqtt.pingTimeoutMs };
    expect(deadLinkNoticedWithinMs(defaults.mqtt.keepaliveSeconds, pings)).toBe(10_000);
    expect(deadLinkNoticedWithinMs(defaults.mqtt.keepaliveSeconds, pings)).toBeLessThan(defaults.mqtt.keepaliveSeconds * 1_000);
  });

  it("mqtt.js's own keepalive timer pings at the keepalive and gives up at the computed bound", () => {
    vi.useFakeTimers();
    const sendPing = vi.fn();
    const onKeepaliveTimeout = vi.fn();
    // The real KeepaliveManager of the pinned mqtt.js, on a stand-in for the client (no packets answer).
    const client = { keepalive: defaults.mqtt.keepaliveSeconds, sendPing, onKeepaliveTimeout, log: () => undefined } as unknown as MqttClient;
    const manager = new KeepaliveManager(client, "native");
    const bound = deadLinkNoticedWithinMs(defaults.mqtt.keepaliveSeconds);
    vi.advanceTimersByTime(defaults.mqtt.keepaliveSeconds * 1_000 - 1);
    expect(sendPing).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(sendPing).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(bound - defaults.mqtt.keepaliveSeconds * 1_000 - 1);
    expect(onKeepaliveTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onKeepaliveTimeout).toHaveBeenCalledTimes(1);
    manager.destroy();
  });
});

import { describe, expect, it } from "vitest";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { isSosError } from "../../shared/errors.js";

describe("gateway config: supervision and the ops webhook", () => {
  it("defaults: 2 missed beats, no grace (20 s at 10 s beats), 30 s clock skew, 26 h test alarm, 15 min reminders, no ops webhook", () => {
    const config = parseGatewayConfig({ dataDir: "/tmp/x" });
    expect(config.supervision).toMatchObject({
      missedBeats: 2,
      graceMs: 0,
      defaultIntervalS: 10,
      maxClockSkewMs: 30_000,
      testAlarmOverdueMs: 26 * 3_600_000,
      offlineReminderMs: 15 * 60_000,
      restoreGraceMs: 75_000,
    });
    expect(config.ops.url).toBeUndefined();
    expect(config.ops.secret).toBeUndefined();
    expect(config.ops).toMatchObject({ concurrency: 4, retry: { minMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 } });
  });

  it("an ops URL needs its secret, and every problem is named at once", () => {
    let message = "";
    try {
      parseGatewayConfig({ dataDir: "/tmp/x", ops: { url: "https://ops.example/hook", retry: { minMs: 500, maxMs: 100 } }, supervision: { missedBeats: 0 } });
    } catch (err) {
      expect(isSosError(err)).toBe(true);
      message = (err as Error).message;
    }
    expect(message).toContain("supervision.missedBeats");
    expect(message).toContain("ops.secret: is required with an ops URL (--ops-secret or SOS_OPS_SECRET)");
    expect(message).toContain("ops.retry.maxMs: must not be below minMs");
  });

  it("takes a short secret for neither webhook", () => {
    expect(() => parseGatewayConfig({ dataDir: "/tmp/x", ops: { url: "http://127.0.0.1/ops", secret: "short" } })).toThrow(/ops\.secret: must be at least 16 characters/);
  });

  it("refuses a packet limit below a snapshot's size (it would cut every kiosk that sends its photo), and takes 0 as no limit", () => {
    expect(() => parseGatewayConfig({ dataDir: "/tmp/x", limits: { maxPacketBytes: 256 * 1024 } })).toThrow(/limits\.maxPacketBytes: must be 0 \(no limit\) or at least 300000/);
    expect(parseGatewayConfig({ dataDir: "/tmp/x", limits: { maxPacketBytes: 0 } }).limits.maxPacketBytes).toBe(0);
    expect(parseGatewayConfig({ dataDir: "/tmp/x" }).limits.maxPacketBytes).toBe(512 * 1024);
  });
});

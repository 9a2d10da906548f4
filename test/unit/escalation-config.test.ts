import { describe, expect, it } from "vitest";
import { parseGatewayConfig } from "../../shared/config/gateway.js";

describe("gateway config: alarm escalation", () => {
  it("defaults: escalate after 30 s, repeat every 60 s, no escalation webhook", () => {
    const config = parseGatewayConfig({ dataDir: "/tmp/x" });
    expect(config.alarms).toEqual({ escalateAfterMs: 30_000, escalationRepeatMs: 60_000 });
    expect(config.escalation.url).toBeUndefined();
    expect(config.escalation).toMatchObject({ concurrency: 4, retry: { minMs: 1_000, maxMs: 300_000 } });
  });

  it("an escalation URL needs its secret (named with its flag), and a short secret is refused", () => {
    expect(() => parseGatewayConfig({ dataDir: "/tmp/x", escalation: { url: "https://cc.example/escalate" } })).toThrow(
      "escalation.secret: is required with an escalation URL (--escalation-secret or SOS_ESCALATION_SECRET)",
    );
    expect(() => parseGatewayConfig({ dataDir: "/tmp/x", escalation: { url: "https://cc.example/escalate", secret: "short" } })).toThrow(/escalation\.secret: must be at least 16/);
    expect(() => parseGatewayConfig({ dataDir: "/tmp/x", alarms: { escalateAfterMs: 0 } })).toThrow(/alarms\.escalateAfterMs/);
  });
});

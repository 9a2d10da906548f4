import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { OPERATOR_ALARMS_TOPIC } from "../../shared/call.js";
import { TOPIC_PREFIX, topics } from "../../shared/contract.js";
import { OFFLINE_WILL } from "../../shared/health.js";
import { renderAsyncApi } from "../../scripts/lib/asyncapi.js";
import { REPO_ROOT } from "../../scripts/lib/repo-root.js";

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
const checkedIn = readFileSync(join(REPO_ROOT, "docs", "asyncapi.yaml"), "utf8");

/** Diagnostic severities of @asyncapi/parser (Spectral): 0 error, 1 warning, 2 information, 3 hint. */
const WARNING = 1;

describe("docs/asyncapi.yaml is the MQTT contract", () => {
  it("is what the generator makes from shared/contract.ts now (run `npm run gen:asyncapi` after changing the contract)", () => {
    expect(checkedIn).toBe(renderAsyncApi(version));
  });

  it("parses with the AsyncAPI parser without errors or warnings and lists every topic of the contract map with its QoS, retain and schema", async () => {
    const { document, diagnostics } = await new Parser().parse(checkedIn);
    expect(diagnostics.filter((d) => Number(d.severity) <= WARNING).map((d) => `${d.code}: ${d.message} at ${d.path.join(".")}`)).toEqual([]);
    if (document === undefined) throw new Error("no document");
    const addresses = document.channels().all().map((c) => c.address());
    const expected = Object.values(topics).map((t) => `${TOPIC_PREFIX}/{kioskId}/${t.suffix}`);
    expect(addresses).toEqual(expect.arrayContaining([...expected, OPERATOR_ALARMS_TOPIC]));
    expect(addresses).toHaveLength(expected.length + 1);
    for (const t of Object.values(topics)) {
      const channel = document.channels().all().find((c) => c.address() === `${TOPIC_PREFIX}/{kioskId}/${t.suffix}`);
      const ops = channel?.operations().all() ?? [];
      const kioskOp = ops.find((o) => o.tags().all().some((tag) => tag.name() === "kiosk"));
      expect(kioskOp?.action()).toBe(t.direction === "up" ? "send" : "receive");
      expect(kioskOp?.bindings().get("mqtt")?.value()).toMatchObject({ qos: t.qos, retain: t.retain });
      const payload = channel?.messages().all()[0]?.payload()?.json<{ type?: string; oneOf?: unknown; anyOf?: unknown }>();
      expect(payload?.type === "object" || payload?.oneOf !== undefined || payload?.anyOf !== undefined).toBe(true);
      expect(channel?.messages().all()[0]?.extensions().get("x-sos-max-bytes")?.value()).toBe(t.maxBytes);
    }
    const kioskServer = document.servers().all().find((s) => s.protocol() === "secure-mqtt");
    expect(kioskServer?.bindings().get("mqtt")?.value()).toMatchObject({
      cleanSession: false,
      lastWill: { topic: `${TOPIC_PREFIX}/{kioskId}/status`, qos: 1, retain: true, message: JSON.stringify(OFFLINE_WILL) },
    });
  });
});

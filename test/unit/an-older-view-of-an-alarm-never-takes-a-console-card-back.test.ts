/**
 * The console's rule for two views of one alarm (gateway/console/operator/alarm-order.js): a view with
 * fewer steps is older (a queue reload or a request under way while the event stream brought the next
 * step) and must not take a card back, e.g. an acknowledged alarm ringing again as "received"; a
 * bare MQTT alarm (no steps) is never older; a view with as many steps or more is not older.
 */
import { describe, expect, it } from "vitest";

type Rule = { olderView: (incoming: unknown, known: unknown) => boolean };
const { olderView } = (await import(new URL("../../gateway/console/operator/alarm-order.js", import.meta.url).href)) as Rule;

const step = (type: string) => ({ type, at: "2026-12-06T03:00:00.000Z" });
const received = { alertId: "a", status: "received", steps: [step("pressed"), step("received")] };
const acknowledged = { alertId: "a", status: "acknowledged", acknowledgedBy: "op-1", steps: [step("pressed"), step("received"), step("acknowledged")] };

describe("an older view of an alarm", () => {
  it("never takes a console card back", () => {
    expect(olderView(received, acknowledged)).toBe(true);
    expect(olderView(acknowledged, received)).toBe(false);
    expect(olderView(acknowledged, acknowledged)).toBe(false);
  });

  it("a bare MQTT alarm (no steps), or a card that has none yet, is never older", () => {
    expect(olderView({ alertId: "a", kind: "sos" }, acknowledged)).toBe(false);
    expect(olderView(received, { alertId: "a", kind: "sos" })).toBe(false);
    expect(olderView(undefined, acknowledged)).toBe(false);
  });
});

/**
 * shared/gateway-order.ts: a fleet given one list of gateway nodes spreads evenly over them, the
 * kiosks of a node that dies spread evenly over the others, a kiosk's order is the same at every
 * start, and `order: "listed"` keeps the list as given.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { gatewayOrder, spreadOrder } from "../../shared/gateway-order.js";

const NODES = ["mqtts://gw-a:8883", "mqtts://gw-b:8883", "mqtts://gw-c:8883"];
const FLEET = Array.from({ length: 6_000 }, (_, i) => `kz-alm-${String(i).padStart(5, "0")}`);

const count = (values: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
};

describe("the order a kiosk tries the gateway nodes in", () => {
  it("spreads a fleet given one list evenly over the nodes (each within 5% of a third)", () => {
    const first = count(FLEET.map((id) => gatewayOrder(NODES, id, "spread")[0] as string));
    expect(Object.keys(first).sort()).toEqual([...NODES].sort());
    for (const n of Object.values(first)) expect(Math.abs(n - 2_000)).toBeLessThan(100);
  });

  it("sends the kiosks of a node that dies to the other nodes in equal shares, not all to the next one", () => {
    const onA = FLEET.map((id) => gatewayOrder(NODES, id, "spread")).filter((order) => order[0] === NODES[0]);
    const next = count(onA.map((order) => order[1] as string));
    expect(Object.keys(next).sort()).toEqual([NODES[1], NODES[2]].sort());
    for (const n of Object.values(next)) expect(Math.abs(n - onA.length / 2)).toBeLessThan(onA.length * 0.05);
  });

  it("is the same order of every node at every start of the same kiosk", () => {
    const order = gatewayOrder(NODES, "kz-alm-00042", "spread");
    expect(gatewayOrder([...NODES], "kz-alm-00042", "spread")).toEqual(order);
    expect([...order].sort()).toEqual([...NODES].sort());
    expect(spreadOrder(["only"], "kz-1")).toEqual(["only"]);
    const eight = Array.from({ length: 8 }, (_, i) => `mqtts://gw-${i}:8883`);
    expect([...spreadOrder(eight, "kz-alm-00042")].sort()).toEqual([...eight].sort());
  });

  it("keeps the list as given with order \"listed\", and spreads by default", () => {
    const base = { version: 1, kioskId: "kz-alm-00042", location: { lat: 43.2, lon: 76.9, address: "x" } };
    const listed = parseKioskConfig({ ...base, mqtt: { urls: NODES, order: "listed", username: "kz-alm-00042", password: "p" } });
    expect(gatewayOrder(NODES, listed.kioskId, listed.mqtt.order)).toEqual(NODES);
    const spread = parseKioskConfig({ ...base, mqtt: { urls: NODES, username: "kz-alm-00042", password: "p" } });
    expect(spread.mqtt.order).toBe("spread");
    const orders = new Set(FLEET.slice(0, 60).map((id) => gatewayOrder(NODES, id, spread.mqtt.order).join(" ")));
    expect(orders.size).toBe(6);
  });
});

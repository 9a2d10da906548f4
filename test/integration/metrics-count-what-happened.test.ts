import { randomUUID } from "node:crypto";
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import type { Alert } from "../../shared/contract.js";
import { topicFor } from "../../shared/contract.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { connectRaw, DISPATCH_SECRET, provisionTestKiosk, tempDir, waitFor } from "./harness.js";
import { RawKiosk, startOpsReceiver, startSupervisedGateway } from "./supervision-harness.js";

/** One sample of a parsed family, by its labels. */
function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): ParsedSample {
  const family = families.find((f) => f.name === name);
  if (family === undefined) throw new Error(`no metric ${name}`);
  const found = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (found === undefined) throw new Error(`no ${name} sample with ${JSON.stringify(labels)}`);
  return found;
}
const value = (families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number => Number(sample(families, name, labels).value);

describe("/metrics counts what happened", () => {
  const defer = deferCleanups();

  it("kiosks by state, heartbeats, alerts received / delivered / pending, dispatch attempts and latency, connections and refusals", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const dispatch = await new DispatchReceiver().start();
    defer(() => dispatch.stop());
    dispatch.respond = (n) => (n === 1 ? 503 : 200);
    const ops = await startOpsReceiver();
    defer(() => ops.stop());
    // settleMs 0: a is degraded then online again within the test, not after a 30 s settle window.
    const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops, { dispatch: { url: dispatch.url, secret: DISPATCH_SECRET }, supervision: { settleMs: 0 } });
    defer(() => gateway.stop());
    const state = (id: string): string | undefined => gateway.supervision.supervisor.get(id)?.state;

    // a: online after an invalid heartbeat (degraded) and three valid ones; b: never seen; c: dropped for a refused publish.
    const a = await RawKiosk.connect(gateway, "kz-met-a", dir.path);
    defer(() => a.end());
    await provisionTestKiosk(gateway.dataDir, "kz-met-b", gateway.mqttUrl, dir.path);
    const c = await RawKiosk.connect(gateway, "kz-met-c", dir.path);
    defer(() => c.end());
    await a.client.publishAsync(topicFor("heartbeat", "kz-met-a"), '{"v":1}', { qos: 0 });
    await waitFor(() => state("kz-met-a") === "degraded", "a degraded by its invalid heartbeat");
    for (let i = 0; i < 3; i += 1) await a.beat();
    await c.beat();
    await waitFor(() => state("kz-met-a") === "online" && state("kz-met-c") === "online", "a and c online");

    // Refusals: an unknown kiosk, a client id that is not the kiosk id, a publish to another kiosk (a refused
    // subscription also disconnects: subscribe-flood-is-capped-and-disconnected.test.ts counts one).
    await expect(connectRaw(gateway.mqttUrl, { clientId: "nobody", username: "nobody", password: "x" })).rejects.toThrow();
    await expect(connectRaw(gateway.mqttUrl, { clientId: "someone-else", username: "kz-met-a", password: "x" })).rejects.toThrow();
    c.client.publish(topicFor("alerts", "kz-met-b"), "{}", { qos: 1 });
    await waitFor(() => state("kz-met-c") === "offline", "c disconnected for its publish");

    // One alert from a, dispatched after one 503.
    const alert: Alert = { v: 1, alertId: randomUUID(), kioskId: "kz-met-a", kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43, lon: 76, address: "km 1" } };
    await a.client.publishAsync(topicFor("alerts", "kz-met-a"), JSON.stringify(alert), { qos: 1 });
    await waitFor(async () => (await gateway.store.getAlert(alert.alertId))?.delivery === "delivered", "alert delivered");
    await waitFor(async () => (await gateway.store.health.pendingOpsCount()) === 0 && ops.requests.length === 5, "five transitions at the ops webhook");

    const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const m = parsePrometheusTextFormat(await res.text());

    expect(Object.fromEntries(["online", "degraded", "offline", "never-seen", "decommissioned"].map((s) => [s, value(m, "sos_kiosks", { state: s })]))).toEqual({
      online: 1,
      degraded: 0,
      offline: 1,
      "never-seen": 1,
      decommissioned: 0,
    });
    expect(value(m, "sos_kiosk_transitions_total", { to: "online" })).toBe(3);
    expect(value(m, "sos_kiosk_transitions_total", { to: "degraded" })).toBe(1);
    expect(value(m, "sos_kiosk_transitions_total", { to: "offline" })).toBe(1);
    expect(value(m, "sos_heartbeats_received_total", { result: "valid" })).toBe(4);
    expect(value(m, "sos_heartbeats_received_total", { result: "invalid" })).toBe(1);
    expect(value(m, "sos_alerts_received_total", { kind: "sos" })).toBe(1);
    expect(value(m, "sos_alerts_received_total", { kind: "test" })).toBe(0);
    expect(value(m, "sos_alerts_delivered_total")).toBe(1);
    expect(value(m, "sos_alerts_pending")).toBe(0);
    expect(value(m, "sos_dispatch_attempts_total", { result: "failed" })).toBe(1);
    expect(value(m, "sos_dispatch_attempts_total", { result: "delivered" })).toBe(1);
    const latency = sample(m, "sos_dispatch_latency_seconds");
    expect(Number(latency.count)).toBe(1);
    expect(Number(latency.sum)).toBeGreaterThan(0.04); // it waited for the retry (backoff 50 ms)
    expect(Number(latency.sum)).toBeLessThan(5);
    expect(Number(latency.buckets?.["+Inf"])).toBe(1);
    expect(value(m, "sos_mqtt_connections")).toBe(1);
    expect(value(m, "sos_mqtt_refused_connections_total", { reason: "bad-credentials" })).toBe(1);
    expect(value(m, "sos_mqtt_refused_connections_total", { reason: "identifier-rejected" })).toBe(1);
    expect(value(m, "sos_mqtt_refused_publishes_total", { role: "kiosk", reason: "not-allowed" })).toBe(1);
    expect(value(m, "sos_ops_attempts_total", { result: "delivered" })).toBe(5);
    expect(value(m, "sos_ops_events_pending")).toBe(0);
    expect(value(m, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000);

    const health = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ok", data: { store: "ok", broker: "listening, 1 clients", pendingDispatch: "0" } });
  });
});

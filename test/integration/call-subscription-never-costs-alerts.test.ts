/**
 * The kiosk link's call plumbing against a bare Aedes broker whose policy the test sets: a broker
 * that refuses call/down leaves the link up and alerts flowing; call/down messages are validated.
 */
import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { MqttLink } from "../../device/link/mqtt-link.js";
import type { CallDown } from "../../shared/call.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { topicFor } from "../../shared/contract.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { connectRaw, waitFor } from "./harness.js";

const KIOSK_ID = "kz-link-0001";

describe("the kiosk link's call signaling", () => {
  const defer = deferCleanups();

  async function broker(refuse: (topic: string) => boolean): Promise<{ url: string; aedes: Aedes }> {
    const aedes = await Aedes.createBroker({
      authorizeSubscribe: (_client, sub, done) => (refuse(sub.topic) ? done(null, null) : done(null, sub)),
    });
    const server: Server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    defer(async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    return { url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, aedes };
  }

  function link(url: string): { link: MqttLink; logs: LogCapture; calls: CallDown[] } {
    const logs = new LogCapture();
    const config = parseKioskConfig({
      version: 1,
      kioskId: KIOSK_ID,
      location: { lat: 43.25, lon: 76.95, address: "km 12" },
      mqtt: { url, username: KIOSK_ID, password: "pw-123456" },
      reconnect: { minMs: 100, maxMs: 500, factor: 2, jitter: 0 },
    });
    const l = new MqttLink(config, logs.logger("link", "debug"));
    const calls: CallDown[] = [];
    l.on("call", (msg) => calls.push(msg));
    l.start();
    defer(() => l.stop());
    return { link: l, logs, calls };
  }

  it("a broker that refuses call/down costs calls only: the link stays up and alerts are published", async () => {
    const callDown = topicFor("callDown", KIOSK_ID);
    const { url } = await broker((topic) => topic === callDown);
    const watcher = await connectRaw(url, { clientId: "watcher" });
    defer(() => watcher.endAsync(true));
    const alerts: string[] = [];
    watcher.on("message", (_t, payload) => alerts.push(payload.toString("utf8")));
    await watcher.subscribeAsync(topicFor("alerts", KIOSK_ID), { qos: 1 });

    const { link: l, logs } = link(url);
    await waitFor(() => logs.find("call signaling subscription failed: operators cannot call this kiosk on this connection; alerts are unaffected").length > 0, "refusal logged");
    await waitFor(() => l.isUp, "link up");
    const alert = { v: 1 as const, alertId: "5b0e3c1e-7d1a-4c53-9a55-2f7f1f0f0a01", kioskId: KIOSK_ID, kind: "sos" as const, pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "km 12" } };
    await l.publishAlert(alert);
    await waitFor(() => alerts.length === 1, "alert at the broker");
    await new Promise((r) => setTimeout(r, 300));
    expect(l.isUp).toBe(true);
    expect(logs.find("gateway unreachable: retrying")).toEqual([]);
  });

  it("emits valid call/down messages and ignores malformed ones; publishes call/up and snapshots", async () => {
    const { url } = await broker(() => false);
    const { link: l, logs, calls } = link(url);
    await waitFor(() => l.isUp && logs.find("subscribed to call signaling").length > 0, "link up and subscribed");

    const operator = await connectRaw(url, { clientId: "operator-page" });
    defer(() => operator.endAsync(true));
    const up: { topic: string; body: unknown }[] = [];
    operator.on("message", (topic, payload) => up.push({ topic, body: JSON.parse(payload.toString("utf8")) }));
    await operator.subscribeAsync([topicFor("callUp", KIOSK_ID), topicFor("snapshot", KIOSK_ID)], { qos: 1 });

    const down = topicFor("callDown", KIOSK_ID);
    await operator.publishAsync(down, "not json", { qos: 1 });
    await operator.publishAsync(down, JSON.stringify({ v: 1, type: "accept", callId: "x" }), { qos: 1 });
    await operator.publishAsync(down, JSON.stringify({ v: 1, type: "accept", callId: "call-00000001", operator: "op7" }), { qos: 1 });
    await waitFor(() => calls.length === 1, "the valid accept");
    expect(calls).toEqual([{ v: 1, type: "accept", callId: "call-00000001", operator: "op7" }]);
    expect(logs.find("ignored a message that is not JSON", (x) => x.topic === down)).toHaveLength(1);
    expect(logs.find("ignored a message that does not match the contract", (x) => x.topic === down)).toHaveLength(1);

    const ring = { v: 1 as const, type: "ring" as const, callId: "call-00000001", alertId: "a-1", at: new Date().toISOString() };
    const snapshot = { v: 1 as const, alertId: "a-1", takenAt: new Date().toISOString(), contentType: "image/jpeg" as const, data: Buffer.from([0xff, 0xd8, 0xff]).toString("base64") };
    await l.publishSnapshot(snapshot);
    await l.publishCallUp(ring);
    await waitFor(() => up.length === 2, "snapshot and ring at the operator");
    expect(up).toEqual([
      { topic: topicFor("snapshot", KIOSK_ID), body: snapshot },
      { topic: topicFor("callUp", KIOSK_ID), body: ring },
    ]);
  });
});

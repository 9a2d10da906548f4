/**
 * Subscription floods do not reach the log or the alarm path: a SUBSCRIBE carries at most
 * `limits.maxFiltersPerSubscribe` filters, one refused filter refuses the packet and ends the
 * connection, and every line a misbehaving peer can cause (refused subscriptions, client and
 * connection errors from malformed packets) is logged sampled, the rest counted in a summary.
 */
import { connect as connectTcp } from "node:net";
import { describe, expect, it } from "vitest";
import { topicFor } from "../../shared/contract.js";
import { connectRogue, counter, ROGUE, rogueTopic, startLimitsEnv, victimStillDelivers, VICTIM } from "./broker-limits-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";

/** Sampling small enough to see: 3 lines per reason and address in a window longer than the test (the summaries are written at stop). */
const SAMPLED = { limits: { refusalLogPerKey: 3, refusalLogTotal: 50, refusalLogWindowMs: 600_000 } };

describe("subscription floods are capped, disconnected and logged sampled", () => {
  const defer = deferCleanups();

  it("one SUBSCRIBE with 15 000 refused filters ends the connection with one log line, and a kiosk's alert is still acknowledged", async () => {
    const env = await startLimitsEnv(defer);
    const rogue = await connectRogue(env, defer);
    const filters = Array.from({ length: 15_000 }, (_, i) => `x/${i}`);
    const err = await rogue.client.subscribeAsync(filters, { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe("Connection closed");
    await waitFor(() => rogue.closed(), "the rogue kiosk's connection closed by the broker");
    expect(rogue.received, "no SUBACK").toEqual([]);

    expect(env.gateway.logs.find("subscription refused: client disconnected")).toEqual([
      expect.objectContaining({ level: "warn", clientId: ROGUE, label: "too-many-filters", reason: "15000 filters in one packet, over the limit of 16" }),
    ]);
    expect(env.gateway.logs.lines.filter((l) => l.clientId === ROGUE || l.kioskId === ROGUE).length).toBeLessThan(10);
    expect(await counter(env, "sos_mqtt_refused_subscriptions_total", { role: "kiosk", reason: "too-many-filters" })).toBe(1);
    await victimStillDelivers(env);
  });

  it("the cap counts filters, allowed or not, in SUBSCRIBE and UNSUBSCRIBE; a kiosk's own subscriptions are served, QoS 2 granted as QoS 1", async () => {
    const env = await startLimitsEnv(defer);
    const tooMany = await connectRogue(env, defer);
    await expect(tooMany.client.subscribeAsync(Array.from({ length: 17 }, () => rogueTopic("acks")), { qos: 1 })).rejects.toThrow("Connection closed");
    await waitFor(() => tooMany.closed(), "disconnected for 17 filters");

    const rogue = await connectRogue(env, defer);
    const granted = await rogue.client.subscribeAsync([rogueTopic("acks"), rogueTopic("commands")], { qos: 2 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
    expect(rogue.closed()).toBe(false);

    // UNSUBSCRIBE is held to the same count.
    rogue.client.unsubscribe(Array.from({ length: 17 }, (_, i) => `x/${i}`), () => undefined);
    await waitFor(() => rogue.closed(), "disconnected for an UNSUBSCRIBE of 17 filters");
    expect(await counter(env, "sos_mqtt_refused_subscriptions_total", { role: "kiosk", reason: "too-many-filters" })).toBe(2);
  });

  it("a refused filter among allowed ones refuses the SUBSCRIBE; a flood of them over many connections writes 3 lines of each kind and a summary", async () => {
    const env = await startLimitsEnv(defer, SAMPLED);
    for (let i = 0; i < 25; i += 1) {
      const rogue = await connectRogue(env, defer);
      await expect(rogue.client.subscribeAsync([rogueTopic("acks"), topicFor("acks", VICTIM)], { qos: 1 })).rejects.toThrow("Connection closed");
      await waitFor(() => rogue.closed(), `connection ${i} closed`);
    }
    const lines = env.gateway.logs.find("subscription refused: client disconnected");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ clientId: ROGUE, topic: topicFor("acks", VICTIM), label: "not-allowed", reason: `topic belongs to kiosk ${VICTIM}` });
    expect(await counter(env, "sos_mqtt_refused_subscriptions_total", { role: "kiosk", reason: "not-allowed" })).toBe(25);
    await victimStillDelivers(env);
    // Its 25 sessions: 3 connect and 3 disconnect lines, the rest counted.
    expect(env.gateway.logs.find("kiosk connected", (l) => l.kioskId === ROGUE)).toHaveLength(3);
    await env.gateway.stop();
    expect(env.gateway.logs.find("subscription refusals not logged one by one")).toEqual([
      expect.objectContaining({ label: "not-allowed", address: "127.0.0.1", suppressed: 22 }),
    ]);
    expect(env.gateway.logs.find("session lines not logged one by one", (l) => l.client === ROGUE)).toEqual([
      expect.objectContaining({ line: "kiosk connected", suppressed: 22 }),
      expect.objectContaining({ line: "kiosk disconnected", suppressed: 22 }),
    ]);
  });

  it("malformed packets, before and after CONNECT, write sampled connection and client error lines", async () => {
    const env = await startLimitsEnv(defer, SAMPLED);
    const port = env.gateway.mqttPort;
    for (let i = 0; i < 25; i += 1) {
      // A CONNECT whose protocol name is empty: the parser fails before the client has an id.
      const socket = connectTcp(port, "127.0.0.1");
      defer(() => socket.destroy());
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.on("error", () => undefined);
      socket.end(Buffer.from([0x10, 0x02, 0x00, 0x00]));
      await closed;
      // A logged-in kiosk sending a PUBLISH with QoS bits 3 (malformed).
      const rogue = await connectRogue(env, defer);
      rogue.client.stream.write(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
      await waitFor(() => rogue.closed(), `kiosk connection ${i} closed`);
    }
    await victimStillDelivers(env);
    expect(env.gateway.logs.find("connection error")).toHaveLength(3);
    expect(env.gateway.logs.find("client error")).toHaveLength(3);
    await env.gateway.stop();
    expect(env.gateway.logs.find("connection errors not logged one by one")).toEqual([expect.objectContaining({ label: "connection-error", suppressed: 22 })]);
    expect(env.gateway.logs.find("client errors not logged one by one")).toEqual([expect.objectContaining({ label: "client-error", suppressed: 22 })]);
  });
});

/**
 * gateway/broker/retained-index.ts: a subscription that names one topic gets that topic's retained
 * message from an index, not from a test of every kiosk's retained status (a reconnect storm of N
 * kiosks would cost N² tests); a cleared message is gone from both; a wildcard filter is answered by
 * the persistence as before. A real Aedes broker with its default persistence on an ephemeral port,
 * real mqtt.js clients.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { indexRetained, type RetainedPersistence } from "../../gateway/broker/retained-index.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";

describe("retained messages of a subscription to one topic", () => {
  const defer = deferCleanups();

  it("are found by lookup with the persistence's scan left alone, cleared ones are gone, and wildcard filters still scan", async () => {
    const broker = await Aedes.createBroker();
    const persistence = (broker as unknown as { persistence: RetainedPersistence }).persistence;
    const scanned: string[][] = [];
    const scan = persistence.createRetainedStreamCombi.bind(persistence);
    persistence.createRetainedStreamCombi = (patterns) => {
      scanned.push(patterns);
      return scan(patterns);
    };
    const index = indexRetained(persistence);
    const server = createServer(broker.handle).listen(0, "127.0.0.1");
    await once(server, "listening");
    defer(async () => {
      server.close();
      await new Promise<void>((r) => broker.close(() => r()));
    });
    const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;

    const kiosks = await mqtt.connectAsync(url, { clientId: "kiosks", protocolVersion: 4 });
    defer(() => kiosks.endAsync(true));
    for (let i = 0; i < 50; i += 1) await kiosks.publishAsync(`sos/v1/kiosks/kz-${i}/status`, `online ${i}`, { qos: 1, retain: true });
    await kiosks.publishAsync("sos/v1/kiosks/kz-7/status", "", { qos: 1, retain: true });
    expect(index.size).toBe(49);

    const reader = await mqtt.connectAsync(url, { clientId: "reader", protocolVersion: 4 });
    defer(() => reader.endAsync(true));
    const got: string[] = [];
    reader.on("message", (topic, payload, packet) => got.push(`${topic}=${payload.toString()}${packet.retain ? " (retained)" : ""}`));
    await reader.subscribeAsync(["sos/v1/kiosks/kz-3/status", "sos/v1/kiosks/kz-7/status", "sos/v1/kiosks/kz-99/status"], { qos: 1 });
    await waitFor(() => got.length >= 1, "the retained status of kz-3");
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(["sos/v1/kiosks/kz-3/status=online 3 (retained)"]);
    expect(scanned).toEqual([]);

    got.length = 0;
    await reader.subscribeAsync("sos/v1/kiosks/+/status", { qos: 1 });
    await waitFor(() => got.length >= 49, "every retained status");
    expect(got.length).toBe(49);
    expect(got).not.toContain("sos/v1/kiosks/kz-7/status=online 7 (retained)");
    expect(scanned).toEqual([["sos/v1/kiosks/+/status"]]);
  });
});

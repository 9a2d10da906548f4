/** Limits before authentication: failed logins and connections per address, the MQTT packet size. */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { tempDir, waitFor } from "../harness.js";
import { mqttHeader } from "../../fixtures/mqtt-header.js";
import { provisionFleet } from "../../bench/lib.js";
import { enrolTestKiosk, refusal, rememberSecret, type SecureGateway, startSecureGateway, startSuiteKiosk } from "./rig.js";
import type { TestKiosk } from "../harness.js";

const MAX_PACKET = 300_000;


export function limitsTests(): void {
  describe("floods and oversized packets are refused while legitimate kiosks keep working", () => {
    const dir = tempDir("sos-sec-limits-");
    let gateway: SecureGateway;
    let kiosk: TestKiosk;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path, {
        limits: { maxPacketBytes: MAX_PACKET, connectionBurst: 40, connectionsPerSecond: 5, maxAuthFailuresPerMinute: 5, refusalLogPerKey: 20, refusalLogWindowMs: 1_000 },
      });
      kiosk = await startSuiteKiosk(await enrolTestKiosk(gateway, "kz-lim-0001", dir.path));
      await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "legitimate kiosk connected");
    });
    afterAll(async () => {
      await kiosk.stop();
      await gateway.stop();
      dir.remove();
    });

    /** Writes `head` then filler to `socket` until it closes or 50 MiB went; the bytes sent. */
    async function pour(socket: Socket, head: Buffer): Promise<{ closed: boolean; sent: number }> {
      let closed = socket.destroyed;
      socket.once("close", () => (closed = true));
      socket.on("error", () => undefined);
      socket.write(head);
      let sent = 0;
      const chunk = Buffer.alloc(16 * 1024, 0x41);
      while (!closed && sent < 50 * 1024 * 1024) {
        const flushed = socket.write(chunk);
        sent += chunk.length;
        if (!flushed) await new Promise<void>((resolve) => { socket.once("drain", () => resolve()); socket.once("close", () => resolve()); });
        await new Promise((r) => setImmediate(r));
      }
      return { closed, sent };
    }

    it("after the CONNECT, a packet announcing more than limits.maxPacketBytes ends the authenticated connection from its header, before it is buffered", async () => {
      const secret = rememberSecret("limits-secret-of-the-password-kiosk");
      await provisionFleet(gateway.dataDir, "kz-limp-", 1, secret, gateway.storeUrl);
      const tooLarge = async (): Promise<number> => Number(/sos_mqtt_refused_connections_total\{reason="packet-too-large"\} (\d+)/.exec((await gateway.metrics.render()).body)?.[1] ?? 0);
      const before = await tooLarge();
      const client = await mqtt.connectAsync(gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, clientId: "kz-limp-0", username: "kz-limp-0", password: secret });
      const socket = client.stream as Socket;
      // A PUBLISH (0x30) announcing 200 MiB, written under mqtt.js.
      const { closed, sent } = await pour(socket, mqttHeader(0x30, 200 * 1024 * 1024));
      await client.endAsync(true);
      expect(closed).toBe(true);
      expect(sent).toBeLessThan(8 * 1024 * 1024);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === `packet of ${200 * 1024 * 1024} bytes is over the ${MAX_PACKET}-byte limit (limits.maxPacketBytes)`)[0], "oversize logged");
      expect(await tooLarge()).toBe(before + 1);
      kiosk.raise("test");
      await waitFor(() => kiosk.outbox.depth === 0, "the kiosk's alert acknowledged after the oversized packet");
    });

    it("a flood of failed logins is rate-limited (no password checked once the address is over the limit) while a connected kiosk keeps publishing and getting acks", async () => {
      const acksBefore = kiosk.logs.find("alert acknowledged by gateway").length;
      // 12 waves of 10 concurrent guesses: the first wave's failures block the address for the rest.
      const guess = (i: number): ReturnType<typeof refusal> =>
        refusal(() => mqtt.connect(gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, clientId: "kz-lim-0002", username: "kz-lim-0002", password: `guess-${i}`, connectTimeout: 3_000 }));
      for (let i = 0; i < 3; i += 1) kiosk.raise("test");
      const results: Awaited<ReturnType<typeof refusal>>[] = [];
      for (let wave = 0; wave < 12; wave += 1) results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => guess(wave * 10 + i)))));
      expect(results.every((r) => r !== undefined)).toBe(true);
      await waitFor(() => kiosk.outbox.depth === 0 && kiosk.logs.find("alert acknowledged by gateway").length >= acksBefore + 3, "the kiosk's alerts acknowledged during the flood");
      // Logged sampled: at most 20 lines per reason label and address in a (1 s) window, the rest
      // counted into one line per label when the window ends; nothing uncounted.
      const tally = () => {
        const refused = gateway.logs.find("connection refused");
        const summaries = gateway.logs.find("connection refusals not logged one by one");
        return {
          checked: refused.filter((l) => l.reason === "unknown kiosk").length,
          limited: refused.filter((l) => String(l.reason).startsWith("too many failed logins") || l.reason === "too many connections from this address").length,
          suppressed: summaries.filter((l) => l.label === "rate-limited").reduce((n, l) => n + Number(l.suppressed), 0),
          otherSummaries: summaries.filter((l) => l.label !== "rate-limited").length,
        };
      };
      const { checked, limited, suppressed, otherSummaries } = await waitFor(() => {
        const t = tally();
        return t.checked + t.limited + t.suppressed === 120 ? t : undefined;
      }, "every refusal logged or counted in a window's summary", 5_000);
      // At most one wave's worth of passwords was ever checked.
      expect(checked).toBeLessThanOrEqual(10);
      expect(limited).toBeGreaterThanOrEqual(20);
      expect(suppressed).toBeGreaterThan(0);
      expect(otherSummaries).toBe(0);
      const metrics = (await gateway.metrics.render()).body;
      const counted = [...metrics.matchAll(/sos_mqtt_refused_connections_total\{reason="rate-limited"\} (\d+)/g)].map((m) => Number(m[1]));
      expect(counted).toEqual([limited + suppressed]);
    });

    it("the CONNECT, read before authentication, may announce no more than limits.maxConnectBytes (8 KiB): a larger one ends the connection from its header, under the packet limit too", async () => {
      await new Promise((r) => setTimeout(r, 2_000)); // let the connection bucket refill after the flood
      for (const announced of [200 * 1024 * 1024, 100_000]) {
        const socket = connect(gateway.mqttPort, "127.0.0.1");
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
        // CONNECT (0x10) with its remaining length as MQTT's variable-length integer.
        const { closed, sent } = await pour(socket, mqttHeader(0x10, announced));
        expect(closed).toBe(true);
        expect(sent).toBeLessThan(1024 * 1024);
        await waitFor(() => gateway.logs.find("connection refused", (l) => l.reason === `CONNECT of ${announced} bytes is over the 8192-byte limit for a CONNECT (limits.maxConnectBytes)`)[0], `CONNECT of ${announced} bytes logged`);
      }
      kiosk.raise("test");
      await waitFor(() => kiosk.outbox.depth === 0, "the kiosk's alert acknowledged after the oversized CONNECTs");
    });

    it("MQTT over WebSocket has the same CONNECT limit: an oversized CONNECT on /mqtt ends the socket before it is buffered", async () => {
      await new Promise((r) => setTimeout(r, 1_000)); // let the connection bucket refill
      const { WebSocket } = await import("ws");
      const url = new URL("/mqtt", gateway.httpsBase).href.replace(/^https:/, "wss:");
      const ws = new WebSocket(url, "mqtt", { ca: gateway.caCertPem });
      await new Promise<void>((resolve, reject) => { ws.once("open", () => resolve()); ws.once("error", reject); });
      let closed = false;
      ws.once("close", () => (closed = true));
      ws.on("error", () => undefined);
      ws.send(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x64]));
      let sent = 0;
      const chunk = Buffer.alloc(16 * 1024, 0x41);
      while (!closed && sent < 50 * 1024 * 1024) {
        ws.send(chunk);
        sent += chunk.length;
        while (ws.bufferedAmount > 1024 * 1024 && !closed) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setImmediate(r));
      }
      expect(closed).toBe(true);
      expect(sent).toBeLessThan(8 * 1024 * 1024);
      await waitFor(() => gateway.logs.find("connection refused", (l) => l.listener === "ws" && l.reason === `CONNECT of ${200 * 1024 * 1024} bytes is over the 8192-byte limit for a CONNECT (limits.maxConnectBytes)`)[0], "oversize on /mqtt logged");
    });
  });

  describe("a fleet behind one address reconnecting at once is not locked out", () => {
    const dir = tempDir("sos-sec-fleet-");
    let gateway: SecureGateway;
    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path, { limits: { maxAuthFailuresPerMinute: 5 } });
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    it("60 password kiosks from one address connecting concurrently all get in (only failures count against an address)", async () => {
      const secret = rememberSecret("fleet-secret-shared-by-the-test-kiosks");
      await provisionFleet(gateway.dataDir, "kz-nat-", 60, secret, gateway.storeUrl);
      const clients = await Promise.all(
        Array.from({ length: 60 }, (_, i) => mqtt.connectAsync(gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, clientId: `kz-nat-${i}`, username: `kz-nat-${i}`, password: secret })),
      );
      expect(clients).toHaveLength(60);
      await Promise.all(clients.map((c) => c.endAsync(true)));
      expect(gateway.logs.find("connection refused")).toEqual([]);
    });

    it("a guesser behind the same address does not lock out a kiosk whose password the gateway has verified; each refused login is one line", async () => {
      const secret = rememberSecret("nat-secret-of-the-kiosks-behind-it");
      // Two provisionings: each kiosk's password hashed with its own salt, as `sos provision` does.
      await provisionFleet(gateway.dataDir, "kz-natg-a", 1, secret, gateway.storeUrl);
      await provisionFleet(gateway.dataDir, "kz-natg-b", 1, secret, gateway.storeUrl);
      const login = (id: string, password: string) => mqtt.connectAsync(gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, clientId: id, username: id, password, connectTimeout: 3_000 });
      // kz-natg-a0 has logged in once; kz-natg-b0 never has.
      await (await login("kz-natg-a0", secret)).endAsync(true);
      const refusedBefore = gateway.logs.find("connection refused").length;
      for (let i = 0; i < 8; i += 1) await expect(login("kz-natg-a0", `guess-${i}`)).rejects.toThrow();
      await expect(login("kz-natg-b0", secret)).rejects.toThrow(/Not authorized/);
      const refused = gateway.logs.find("connection refused").slice(refusedBefore);
      expect(refused.map((l) => String(l.reason).replace(/retry in \d+ s$/, "retry in N s"))).toEqual([
        ...Array.from({ length: 5 }, () => "wrong password"),
        ...Array.from({ length: 4 }, () => "too many failed logins from this address: retry in N s"),
      ]);
      // One line per refusal: Aedes hands each refused login on as a client error too, not logged again.
      expect(gateway.logs.find("client error")).toEqual([]);
      // The kiosk already verified still gets in, with no password check run; a wrong password still does not.
      const kiosk = await login("kz-natg-a0", secret);
      expect(kiosk.connected).toBe(true);
      await kiosk.endAsync(true);
      await expect(login("kz-natg-a0", "guess-9")).rejects.toThrow(/Not authorized/);
    });
  });
}

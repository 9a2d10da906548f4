/**
 * A kiosk of several gateway nodes that had to go to its second node goes back to its first (its home)
 * once that takes it again (`mqtt.returnHomeAfterS`, device/link/home-return.ts), so a node that died
 * or was upgraded gets its kiosks back; never while an alarm is under way; and a home that takes
 * connections but never answers them costs a try of at most 3 s, which a press ends at once. Two real
 * gateways (each its own SQLite store, the kiosk registered on both), a real kiosk agent; node A is
 * reached through a TCP proxy that refuses, passes, or (a hung node) holds connections unanswered.
 */
import { createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { type Defer, deferCleanups, startSystem, type TestSystem } from "./cleanups.js";
import { provisionTestKiosk, startTestKiosk, type TestKiosk, waitFor } from "./harness.js";
import { addTestOperator, httpBase, login, OPERATOR_PASSWORD } from "./operator-harness.js";

interface Away {
  readonly a: TestSystem;
  readonly b: TestSystem;
  readonly aUrl: string;
  readonly kiosk: TestKiosk;
}

const connectedTo = (kiosk: TestKiosk): unknown[] => kiosk.logs.find("connected to gateway").map((l) => l.url);
const triesThatFailed = (kiosk: TestKiosk): number => kiosk.logs.find("the first gateway node did not take the kiosk: back to the node it left").length;

/** The kiosk's urls = [A, B] (listed), A (at `aUrl`) refusing it at first: it connects to B. */
async function awayFromHome(defer: Defer, kioskId: string, aUrl: string, a: TestSystem): Promise<Away> {
  const b = await startSystem(defer);
  const provisioned = await provisionTestKiosk(a.gateway.dataDir, kioskId, aUrl, a.dir);
  const record = await a.gateway.store.getKiosk(kioskId);
  if (record === undefined) throw new Error("kiosk not provisioned");
  await b.gateway.store.putKiosk(record, { replace: false, now: new Date() });
  const { url: _one, ...mqtt } = provisioned.mqtt;
  const config = parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls: [aUrl, b.gateway.mqttUrl], order: "listed", returnHomeAfterS: 1 } });
  const kiosk = await startTestKiosk(config);
  defer(() => kiosk.stop());
  await waitFor(() => connectedTo(kiosk).includes(b.gateway.mqttUrl), "the kiosk on node B", 15_000);
  return { a, b, aUrl, kiosk };
}

/** Node A behind a proxy that refuses every connection until healed. */
async function refusingA(defer: Defer): Promise<{ a: TestSystem; aUrl: string; proxy: TcpProxy }> {
  const a = await startSystem(defer);
  const proxy = new TcpProxy({ host: "127.0.0.1", port: a.gateway.mqttPort });
  const aUrl = await proxy.start();
  defer(() => proxy.stop());
  proxy.down("cut");
  return { a, aUrl, proxy };
}

describe("a kiosk away from its first gateway node", () => {
  const defer = deferCleanups();

  it("goes back to it once it takes the kiosk again, and its next press reaches dispatch there", async () => {
    const { a, aUrl, proxy } = await refusingA(defer);
    const { b, kiosk } = await awayFromHome(defer, "kz-home-0001", aUrl, a);
    // A still refuses: a try (after 1–2 s) ends back on B at once.
    await waitFor(() => triesThatFailed(kiosk) >= 1, "a try that A refused", 10_000);
    await waitFor(() => connectedTo(kiosk).at(-1) === b.gateway.mqttUrl, "the kiosk back on node B");

    proxy.heal();
    await waitFor(() => connectedTo(kiosk).at(-1) === aUrl, "the kiosk back on node A", 20_000);
    expect(kiosk.logs.find("returning to its first gateway node", (l) => l.url === b.gateway.mqttUrl && l.next === aUrl).length).toBeGreaterThanOrEqual(2);
    // Moves, not failures: no ordinary retry was logged for them.
    expect(kiosk.logs.find("gateway unreachable: retrying", (l) => l.url === b.gateway.mqttUrl)).toHaveLength(0);

    kiosk.button.press();
    await waitFor(() => a.receiver.requests.length === 1, "the press delivered by node A", 10_000);
    expect(b.receiver.requests).toHaveLength(0);
    await waitFor(() => kiosk.outbox.depth === 0, "the alert acknowledged by node A");
    // At home it stays.
    const moves = connectedTo(kiosk).length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(connectedTo(kiosk)).toHaveLength(moves);
  });

  it("stays on the node that has its alarm until the alarm is closed, then goes back", async () => {
    const { a, aUrl, proxy } = await refusingA(defer);
    const { b, kiosk } = await awayFromHome(defer, "kz-home-0002", aUrl, a);
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1 && kiosk.outbox.depth === 0, "the alarm delivered by node B");
    const alertId = (b.receiver.requests[0]?.body as { alertId: string }).alertId;
    expect(kiosk.alarm.openAlarm).not.toBeNull();

    proxy.heal();
    // Home would take it, but an alarm is under way: the kiosk stays where its operator reaches it.
    const tries = kiosk.logs.find("returning to its first gateway node").length;
    await new Promise((r) => setTimeout(r, 3_500));
    expect(connectedTo(kiosk).at(-1)).toBe(b.gateway.mqttUrl);
    expect(kiosk.logs.find("returning to its first gateway node")).toHaveLength(tries);

    await addTestOperator(b.gateway.dataDir, "op-1");
    const { cookie } = await login(b.gateway.httpPort, "op-1", OPERATOR_PASSWORD);
    const closed = await fetch(`${httpBase(b.gateway.httpPort)}/api/alarms/${alertId}/close`, { method: "POST", headers: { "content-type": "application/json", cookie: cookie ?? "" }, body: JSON.stringify({ outcome: "help-sent" }) });
    expect(closed.status).toBe(200);
    await waitFor(() => kiosk.alarm.openAlarm === null, "the alarm closed on the kiosk", 10_000);
    await waitFor(() => connectedTo(kiosk).at(-1) === aUrl, "the kiosk back on node A", 10_000);
  });

  it("a home that takes connections but never answers: each try ends back on B within 3 s, and a press during one goes through B at once", async () => {
    const a = await startSystem(defer);
    // A hung node: its machine accepts (the kernel does), nothing answers. Refusing at first.
    let hung = false;
    const held: Socket[] = [];
    const server: Server = createServer((socket) => {
      if (!hung) return socket.destroy();
      held.push(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    defer(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const aUrl = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
    const { b, kiosk } = await awayFromHome(defer, "kz-home-0003", aUrl, a);
    hung = true;

    // A try to the hung home: given up at 3 s (not the 10 s CONNACK wait), back on B.
    const failed = triesThatFailed(kiosk);
    await waitFor(() => triesThatFailed(kiosk) > failed, "a try to the hung home given up", 15_000);
    const givenUp = kiosk.logs.find("the first gateway node did not take the kiosk: back to the node it left").at(-1);
    expect(givenUp?.reason).toBe("not connected within 3000 ms");
    await waitFor(() => connectedTo(kiosk).at(-1) === b.gateway.mqttUrl, "the kiosk back on node B");

    // The next try (failures space them out: 2–4 s after the last) is interrupted by a press.
    const tries = kiosk.logs.find("returning to its first gateway node").length;
    await waitFor(() => kiosk.logs.find("returning to its first gateway node").length > tries, "the next try", 15_000);
    const pressedAt = Date.now();
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1, "the press delivered by node B", 10_000);
    expect(kiosk.logs.find("the first gateway node did not take the kiosk: back to the node it left").at(-1)?.reason).toBe("an alert is waiting");
    // Not after the try's 3 s, nor a CONNACK wait: at once (a generous bound on a shared machine).
    expect(Date.now() - pressedAt).toBeLessThan(2_500);
    expect(a.receiver.requests).toHaveLength(0);
  });
});

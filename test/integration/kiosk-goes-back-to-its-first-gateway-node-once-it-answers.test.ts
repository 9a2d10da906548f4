/**
 * A kiosk of several gateway nodes that had to go to its second node goes back to its first (its home)
 * once that answers again (`mqtt.returnHomeAfterS`, device/link/home-return.ts), so a node that died or
 * was upgraded gets its kiosks back; and never while an alarm is under way. Two real gateways (each its
 * own SQLite store, the kiosk registered on both), a real kiosk agent; node A's address answers nothing
 * until a TCP proxy to A is started on it.
 */
import { describe, expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { type Defer, deferCleanups, startSystem, type TestSystem } from "./cleanups.js";
import { freePort, provisionTestKiosk, startTestKiosk, type TestKiosk, waitFor } from "./harness.js";
import { addTestOperator, httpBase, login, OPERATOR_PASSWORD } from "./operator-harness.js";

interface Away {
  readonly a: TestSystem;
  readonly b: TestSystem;
  readonly aUrl: string;
  readonly kiosk: TestKiosk;
  /** Makes node A answer at aUrl. */
  readonly bringBackA: () => Promise<void>;
}

const connectedTo = (kiosk: TestKiosk): unknown[] => kiosk.logs.find("connected to gateway").map((l) => l.url);

/** The kiosk's urls = [A, B] (listed), A answering nothing: it connects to B. */
async function awayFromHome(defer: Defer, kioskId: string): Promise<Away> {
  const a = await startSystem(defer);
  const b = await startSystem(defer);
  const aPort = await freePort();
  const aUrl = `mqtt://127.0.0.1:${aPort}`;
  const provisioned = await provisionTestKiosk(a.gateway.dataDir, kioskId, aUrl, a.dir);
  const record = await a.gateway.store.getKiosk(kioskId);
  if (record === undefined) throw new Error("kiosk not provisioned");
  await b.gateway.store.putKiosk(record, { replace: false, now: new Date() });
  const { url: _one, ...mqtt } = provisioned.mqtt;
  const config = parseKioskConfig({ ...provisioned, mqtt: { ...mqtt, urls: [aUrl, b.gateway.mqttUrl], order: "listed", returnHomeAfterS: 1 } });
  const kiosk = await startTestKiosk(config);
  defer(() => kiosk.stop());
  await waitFor(() => connectedTo(kiosk).includes(b.gateway.mqttUrl), "the kiosk on node B", 15_000);
  const bringBackA = async (): Promise<void> => {
    const proxy = new TcpProxy({ host: "127.0.0.1", port: a.gateway.mqttPort });
    await proxy.start(aPort);
    defer(() => proxy.stop());
  };
  return { a, b, aUrl, kiosk, bringBackA };
}

describe("a kiosk away from its first gateway node", () => {
  const defer = deferCleanups();

  it("goes back to it once it answers, and its next press reaches dispatch there", async () => {
    const { a, b, aUrl, kiosk, bringBackA } = await awayFromHome(defer, "kz-home-0001");
    expect(connectedTo(kiosk)).toEqual([b.gateway.mqttUrl]);
    // A does not answer yet: the kiosk looks (after 1–2 s) and stays.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(connectedTo(kiosk)).toEqual([b.gateway.mqttUrl]);

    await bringBackA();
    await waitFor(() => connectedTo(kiosk).at(-1) === aUrl, "the kiosk back on node A", 10_000);
    expect(kiosk.logs.find("returning to its first gateway node", (l) => l.url === b.gateway.mqttUrl && l.next === aUrl)).toHaveLength(1);
    // A move, not a failure: no retry was logged for it.
    expect(kiosk.logs.find("gateway unreachable: retrying", (l) => l.url === b.gateway.mqttUrl)).toHaveLength(0);

    kiosk.button.press();
    await waitFor(() => a.receiver.requests.length === 1, "the press delivered by node A", 10_000);
    expect(b.receiver.requests).toHaveLength(0);
    await waitFor(() => kiosk.outbox.depth === 0, "the alert acknowledged by node A");
    // At home it stays.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(connectedTo(kiosk).at(-1)).toBe(aUrl);
  });

  it("stays on the node that has its alarm until the alarm is closed, then goes back", async () => {
    const { b, aUrl, kiosk, bringBackA } = await awayFromHome(defer, "kz-home-0002");
    kiosk.button.press();
    await waitFor(() => b.receiver.requests.length === 1 && kiosk.outbox.depth === 0, "the alarm delivered by node B");
    const alertId = (b.receiver.requests[0]?.body as { alertId: string }).alertId;
    expect(kiosk.alarm.openAlarm).not.toBeNull();

    await bringBackA();
    // Home answers, but an alarm is under way: the kiosk stays where its operator reaches it.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(connectedTo(kiosk).at(-1)).toBe(b.gateway.mqttUrl);
    expect(kiosk.logs.find("returning to its first gateway node")).toHaveLength(0);

    await addTestOperator(b.gateway.dataDir, "op-1");
    const { cookie } = await login(b.gateway.httpPort, "op-1", OPERATOR_PASSWORD);
    const closed = await fetch(`${httpBase(b.gateway.httpPort)}/api/alarms/${alertId}/close`, { method: "POST", headers: { "content-type": "application/json", cookie: cookie ?? "" }, body: JSON.stringify({ outcome: "help-sent" }) });
    expect(closed.status).toBe(200);
    await waitFor(() => kiosk.alarm.openAlarm === null, "the alarm closed on the kiosk", 10_000);
    await waitFor(() => connectedTo(kiosk).at(-1) === aUrl, "the kiosk back on node A", 10_000);
  });
});

/**
 * Call signaling end to end over the real broker: a real gateway, a real kiosk agent (fake button,
 * lights and media at its hardware edge), and a raw mqtt.js client on the gateway's WebSocket
 * playing the operator page with real operator credentials.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startKiosk } from "../../device/main.js";
import { type CallDown, type CallUp, callUpSchema } from "../../shared/call.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { topicFor } from "../../shared/contract.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import { FakeMedia } from "../fixtures/fake-media.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { provisionTestKiosk, startTestGateway, tempDir, waitFor, type TestGateway } from "./harness.js";
import { addTestOperator, connectOperator, get, httpBase, login, OPERATOR_PASSWORD } from "./operator-harness.js";

const KIOSK_ID = "kz-call-0001";
const ICE = [{ urls: "stun:stun.example.org:3478" }];
// The gateway checks the JPEG magic; the rest is opaque to everyone on the way.
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7), Buffer.from([0xff, 0xd9])]);
const ANSWER_SDP = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=operator\r\n";

interface Operator {
  readonly client: MqttClient;
  readonly received: CallUp[];
  send(msg: CallDown): Promise<void>;
  last<T extends CallUp["type"]>(type: T, callId?: string): Extract<CallUp, { type: T }> | undefined;
}

describe("call signaling over MQTT between a kiosk and an operator page", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setUp() {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { commands: { pollMs: 100, resendMs: 1_000 } });
    cleanups.push(() => gateway.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, KIOSK_ID, gateway.mqttUrl, dir.path);
    const config = parseKioskConfig({ ...provisioned, media: { driver: "wrtc", capture: "test", iceServers: ICE } });
    const media = new FakeMedia();
    media.snapshotResult = JPEG;
    const button = new FakeButton();
    const indicator = new RecordingIndicator();
    const logs = new LogCapture();
    const kiosk = await startKiosk(config, { log: logs.logger("kiosk", "debug"), button, indicator, player: new RecordingPlayer(), media });
    cleanups.push(() => kiosk.stop());
    await kiosk.linkReady;
    await waitFor(() => logs.find("connected to gateway").length > 0 && logs.find("subscribed to call signaling").length > 0, "kiosk connected and subscribed");
    await waitFor(() => media.of("start").length > 0 && kiosk.calls.status.mediaReady, "media ready");
    await addTestOperator(gateway.dataDir, "op7");
    return { gateway, kiosk, media, button, indicator, logs };
  }

  async function operator(gateway: TestGateway): Promise<Operator> {
    const client = await connectOperator(gateway.httpPort, "op7");
    cleanups.push(() => client.endAsync(true));
    const received: CallUp[] = [];
    client.on("message", (_topic, payload) => received.push(callUpSchema.parse(JSON.parse(payload.toString("utf8")))));
    await client.subscribeAsync("sos/v1/kiosks/+/call/up", { qos: 1 });
    const down = topicFor("callDown", KIOSK_ID);
    return {
      client,
      received,
      send: async (msg) => void (await client.publishAsync(down, JSON.stringify(msg), { qos: 1 })),
      last: (type, callId) => received.filter((m) => m.type === type && (callId === undefined || m.callId === callId)).at(-1) as never,
    };
  }

  /** Press, the ring answered by op7, the call connected: where the tests of a call's end start. */
  async function connectedCall(): Promise<Awaited<ReturnType<typeof setUp>> & { op: Operator; ring: CallUp & { type: "ring" } }> {
    const system = await setUp();
    const op = await operator(system.gateway);
    system.button.press();
    const ring = await waitFor(() => op.last("ring"), "ring");
    await op.send({ v: 1, type: "accept", callId: ring.callId, operator: "op7" });
    await waitFor(() => system.media.of("startCall").length === 1, "call started");
    system.media.state(ring.callId, "connected");
    await waitFor(() => op.last("state", ring.callId)?.state === "connected", "connected");
    return { ...system, op, ring };
  }

  it("press → snapshot stored and ring seen; accept → offer, answer, ICE both ways, connected (green), operator hangup", async () => {
    const { gateway, kiosk, media, button, indicator } = await setUp();
    const op = await operator(gateway);
    button.press();

    const ring = await waitFor(() => op.last("ring"), "ring on call/up");
    const alertId = kiosk.alarm.openAlarm?.alert.alertId;
    expect(ring.alertId).toBe(alertId);
    const snapshotFile = join(gateway.dataDir, "snapshots", `${String(alertId).toLowerCase()}.jpg`);
    await waitFor(() => existsSync(snapshotFile), "snapshot stored at the gateway");
    expect(readFileSync(snapshotFile)).toEqual(JPEG);

    const { callId } = ring;
    await op.send({ v: 1, type: "accept", callId, operator: "op7" });
    const startCall = await waitFor(() => media.of("startCall")[0], "media.startCall");
    expect(startCall).toEqual({ method: "startCall", callId, iceServers: ICE });
    await waitFor(() => op.last("state", callId)?.state === "connecting", "state connecting");

    media.offer(callId, "v=0 kiosk offer");
    media.ice(callId);
    expect(await waitFor(() => op.last("offer", callId), "offer")).toMatchObject({ sdp: "v=0 kiosk offer" });
    await waitFor(() => op.last("ice", callId), "kiosk ICE");

    const candidate = { candidate: "candidate:2 1 udp 1 198.51.100.7 3478 typ srflx", sdpMid: "0", sdpMLineIndex: 0 };
    await op.send({ v: 1, type: "answer", callId, sdp: ANSWER_SDP });
    await op.send({ v: 1, type: "ice", callId, candidate });
    await waitFor(() => media.of("addRemoteIce").length === 1, "remote ICE at the media");
    expect(media.of("acceptAnswer")).toEqual([{ method: "acceptAnswer", callId, sdp: ANSWER_SDP }]);
    expect(media.of("addRemoteIce")).toEqual([{ method: "addRemoteIce", callId, candidate }]);

    media.state(callId, "connected");
    await waitFor(() => op.last("state", callId)?.state === "connected", "state connected");
    expect(indicator.current).toEqual({ yellow: "on", green: "on" });

    await op.send({ v: 1, type: "hangup", callId, reason: "done" });
    await waitFor(() => op.last("state", callId)?.state === "ended", "state ended");
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId }]);
    expect(indicator.current).toEqual({ yellow: "on", green: "off" });
    // Nothing either side sent was refused by the broker's ACL.
    expect(gateway.logs.find("publish refused: client disconnected")).toEqual([]);
    expect(gateway.logs.find("subscription refused")).toEqual([]);
  });

  it("a page opened late still sees the ring; a second accept is busy; closing the alarm hangs up", async () => {
    const { gateway, kiosk, media, button, indicator } = await setUp();
    button.press();
    await waitFor(() => kiosk.calls.status.phase === "ringing" && kiosk.alarm.openAlarm?.received, "ringing, alarm received");
    // This page connects after the first ring went out: the repeat reaches it.
    const late = await operator(gateway);
    const ring = await waitFor(() => late.last("ring"), "repeated ring", 10_000);

    await late.send({ v: 1, type: "accept", callId: ring.callId, operator: "op7" });
    await waitFor(() => media.of("startCall").length === 1, "call started");
    media.state(ring.callId, "connected");
    await waitFor(() => indicator.current?.green === "on", "green on");

    await late.send({ v: 1, type: "accept", callId: "another-call-0001", operator: "op7" });
    expect(await waitFor(() => late.last("hangup", "another-call-0001"), "busy")).toMatchObject({ reason: "busy" });

    const alertId = String(kiosk.alarm.openAlarm?.alert.alertId);
    await gateway.closeAlarm({ alertId, outcome: "help sent", closedBy: "op7" });
    expect(await waitFor(() => late.last("hangup", ring.callId), "hangup on close")).toMatchObject({ reason: "alarm closed" });
    await waitFor(() => late.last("state", ring.callId)?.state === "ended", "state ended");
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId: ring.callId }]);
    await waitFor(() => kiosk.alarm.openAlarm === null, "alarm closed at the kiosk");
    expect(indicator.current).toEqual({ yellow: "off", green: "off" });
  });

  it("closing an alarm during another operator's call is refused with 409 naming them, unless forced; the forced close hangs the call up", async () => {
    const { gateway, kiosk, media, button } = await setUp();
    const op = await operator(gateway);
    await addTestOperator(gateway.dataDir, "bob");
    const bob = await login(gateway.httpPort, "bob", OPERATOR_PASSWORD);
    button.press();
    const ring = await waitFor(() => op.last("ring"), "ring");
    const alertId = ring.alertId;
    await op.send({ v: 1, type: "accept", callId: ring.callId, operator: "op7" });
    await waitFor(() => media.of("startCall").length === 1, "call started");
    media.state(ring.callId, "connected");
    const status = async (): Promise<unknown> => ((await (await get(gateway.httpPort, `/api/alarms/${alertId}`, bob.cookie)).json()) as { data: { status: string } }).data.status;
    await waitFor(async () => (await status()) === "call-connected", "call connected on the alarm");

    const close = (body: object): Promise<Response> =>
      fetch(`${httpBase(gateway.httpPort)}/api/alarms/${alertId}/close`, { method: "POST", headers: { "content-type": "application/json", cookie: bob.cookie ?? "" }, body: JSON.stringify(body) });
    const refused = await close({ outcome: "help-sent" });
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("CALL_IN_PROGRESS");
    expect(error.message).toMatch(/^op7 is in a call with this kiosk: .*close it anyway/);
    expect((await gateway.store.getAlert(alertId))?.closedAt).toBeNull();
    expect(media.of("hangup")).toEqual([]);

    expect((await close({ outcome: "help-sent", force: true })).status).toBe(200);
    expect(await waitFor(() => op.last("hangup", ring.callId), "hangup on close")).toMatchObject({ reason: "alarm closed" });
    await waitFor(() => kiosk.alarm.openAlarm === null, "alarm closed at the kiosk");
    expect(gateway.logs.find("alarm closed during another operator's call: the call ends")).toMatchObject([{ alertId, operator: "bob", inCall: "op7" }]);
  });

  it("media lost during a call: reported failed, and the kiosk rings again once its media is ready", async () => {
    const { media, op, ring } = await connectedCall();

    media.lose("media process exited (SIGSEGV)");
    expect(await waitFor(() => op.last("state", ring.callId)?.state === "failed" && op.last("state", ring.callId), "failed")).toMatchObject({
      reason: "media lost: media process exited (SIGSEGV)",
    });
    media.ready();
    const again = await waitFor(() => op.received.find((m) => m.type === "ring" && m.callId !== ring.callId), "a new ring");
    await op.send({ v: 1, type: "accept", callId: again.callId, operator: "op7" });
    await waitFor(() => media.of("startCall").length === 2, "second call started");
  });
  it("the operator's page going away mid-call (hangup cause page-gone) ends the call and the kiosk rings again; an operator's own hangup does not", async () => {
    const { media, op, ring } = await connectedCall();

    // The page is reloaded (pagehide): the caller must be reachable again.
    await op.send({ v: 1, type: "hangup", callId: ring.callId, reason: "the operator's console was closed or reloaded", cause: "page-gone" });
    await waitFor(() => op.last("state", ring.callId)?.state === "ended", "call ended");
    expect(media.of("hangup")).toEqual([{ method: "hangup", callId: ring.callId }]);
    const again = await waitFor(() => op.received.find((m) => m.type === "ring" && m.callId !== ring.callId), "a new ring", 5_000);
    expect(again).toMatchObject({ alertId: ring.alertId });

    // That ring answered, then the operator hangs up: the call is over for good.
    await op.send({ v: 1, type: "accept", callId: again.callId, operator: "op7" });
    await waitFor(() => media.of("startCall").length === 2, "second call started");
    media.state(again.callId, "connected");
    await waitFor(() => op.last("state", again.callId)?.state === "connected", "second call connected");
    await op.send({ v: 1, type: "hangup", callId: again.callId, reason: "done", cause: "operator" });
    await waitFor(() => op.last("state", again.callId)?.state === "ended", "second call ended");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(op.received.filter((m) => m.type === "ring" && m.callId !== ring.callId && m.callId !== again.callId)).toEqual([]);
  });
  it("the operator's media closing just before the operator's own hangup does not ring again", async () => {
    const { media, op, ring } = await connectedCall();

    // The operator hangs up: the page closes its peer connection, which the kiosk's media may see first.
    media.state(ring.callId, "ended", "remote closed");
    await op.send({ v: 1, type: "hangup", callId: ring.callId, reason: "done" });
    await waitFor(() => op.last("state", ring.callId)?.state === "ended", "call ended");
    await new Promise((r) => setTimeout(r, 3_000));
    expect(op.received.filter((m) => m.type === "ring" && m.callId !== ring.callId)).toEqual([]);
  });

  it("the operator's media closing with no hangup after it (a page gone without a word) rings again", async () => {
    const { media, op, ring } = await connectedCall();

    media.state(ring.callId, "ended", "remote closed");
    await waitFor(() => op.last("state", ring.callId)?.state === "ended", "call ended");
    const again = await waitFor(() => op.received.find((m) => m.type === "ring" && m.callId !== ring.callId), "a new ring", 5_000);
    expect(again).toMatchObject({ alertId: ring.alertId });
  });
});

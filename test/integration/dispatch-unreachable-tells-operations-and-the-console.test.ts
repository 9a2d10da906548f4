/**
 * Dispatch unreachable for `dispatch.unreachableAfterMs` is told to operations (a signed
 * `sos.ops.gateway/v1` event on the ops webhook, and one more when it answers again) and to every
 * console page (a `dispatch` event on the event stream: the banner), including a page that opens
 * during the outage. Real gateway, real kiosk, real HTTP receivers.
 */
import { describe, expect, it } from "vitest";
import { type GatewayOpsEvent, gatewayOpsEventSchema, type OpsEvent, opsEventSchema } from "../../shared/ops.js";
import { verifySignature } from "../../shared/signature.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { WebhookReceiver } from "../fixtures/webhook-receiver.js";
import { deferCleanups } from "./cleanups.js";
import { DISPATCH_SECRET, freePort, provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";
import { addTestOperator, type EventStreamReader, login, OPERATOR_PASSWORD, openEventStream } from "./operator-harness.js";
import { OPS_SECRET } from "./supervision-harness.js";

const KIOSK = "kz-hwy-0710";

/** The `dispatch` events a console's event stream has received so far. */
const dispatchEvents = (stream: EventStreamReader) => (): unknown[] => stream.events("dispatch");

describe("dispatch unreachable is told to operations and to the console", () => {
  const defer = deferCleanups();

  it("sends one signed dispatch-unreachable ops event and one dispatch-restored, and every page shows the banner while it lasts", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const ops = await new WebhookReceiver<OpsEvent | GatewayOpsEvent>((json) => gatewayOpsEventSchema.or(opsEventSchema).parse(json), "/ops").start();
    defer(() => ops.stop());
    const port = await freePort();
    const dispatch = new DispatchReceiver();
    defer(() => dispatch.stop());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      dispatch: { url: `http://127.0.0.1:${port}/incidents`, secret: DISPATCH_SECRET, unreachableAfterMs: 300, circuit: { probeMinMs: 50, probeMaxMs: 200, jitter: 0 } },
      ops: { url: ops.url, secret: OPS_SECRET, retry: { minMs: 50, maxMs: 500, factor: 2, jitter: 0 } },
    });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    const alice = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    const cookie = alice.cookie ?? "";
    const before = dispatchEvents(openEventStream(gateway.httpPort, cookie, defer));

    const kiosk = await startTestKiosk(await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path));
    defer(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    kiosk.button.press();

    const gatewayEvents = (): GatewayOpsEvent[] => ops.requests.map((r) => r.body).filter((b): b is GatewayOpsEvent => b.schema === "sos.ops.gateway/v1");
    await waitFor(() => gatewayEvents().length === 1, "dispatch-unreachable at the ops webhook", 10_000);
    const down = gatewayEvents()[0];
    expect(down).toMatchObject({ type: "dispatch-unreachable", lastError: "ECONNREFUSED", durationMs: null, stalls: null });
    const downRequest = ops.requests.find((r) => r.body === down);
    expect(verifySignature(downRequest?.raw ?? "", OPS_SECRET, String(downRequest?.headers["x-sos-signature"]))).toBe(true);
    expect(downRequest?.headers["idempotency-key"]).toBe(down?.eventId);

    await waitFor(() => before().length === 1, "the open page told");
    expect(before()[0]).toEqual({ state: "unreachable", since: down?.since, lastError: "ECONNREFUSED" });
    // A page opened during the outage is told as soon as its stream opens.
    const during = dispatchEvents(openEventStream(gateway.httpPort, cookie, defer));
    await waitFor(() => during().length === 1, "a page opened during the outage told at once");
    expect(during()[0]).toMatchObject({ state: "unreachable", since: down?.since });

    await dispatch.start(port);
    await waitFor(() => gatewayEvents().length === 2, "dispatch-restored at the ops webhook", 10_000);
    const up = gatewayEvents()[1];
    expect(up).toMatchObject({ type: "dispatch-restored", since: down?.since, lastError: "ECONNREFUSED" });
    expect(up?.durationMs).toBeGreaterThanOrEqual(300);
    await waitFor(() => before().length === 2 && during().length === 2, "both pages told it answers again");
    expect(before()[1]).toMatchObject({ state: "ok", since: down?.since });
    // A page opened now shows no banner: nothing is sent to it.
    const after = dispatchEvents(openEventStream(gateway.httpPort, cookie, defer));
    await new Promise((r) => setTimeout(r, 300));
    expect(after()).toEqual([]);
    expect(dispatch.requests).toHaveLength(1);
  });
});

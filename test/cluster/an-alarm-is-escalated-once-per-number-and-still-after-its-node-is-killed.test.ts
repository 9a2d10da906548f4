/**
 * Escalation in a cluster: two gateway nodes (real processes) on one PostgreSQL database and one
 * Redis, both running before the alarm comes. A real kiosk agent presses on the node it is connected
 * to, and nobody acknowledges. Each escalation reaches the signed escalation webhook once, not once
 * per node, while both live; then the node that received the alarm is SIGKILLed, and the next
 * escalation still comes from the survivor, once, a beat (5 s) late at most. Needs `npm run build`.
 */
import { describe, expect, it } from "vitest";
import { type EscalationEvent, escalationEventSchema } from "../../shared/escalation.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { WebhookReceiver } from "../fixtures/webhook-receiver.js";
import { waitFor } from "../integration/harness.js";
import { clusterRigs } from "./cluster-rig.js";
import { makeGatewayNodes, startAll, stopAll } from "./gateway-nodes.js";
import { StormFleet } from "./storm-fleet.js";

const AFTER_S = 3;
const REPEAT_S = 8;
const SECRET = "cluster-escalation-secret-0123456789";

describe("escalation on a cluster", () => {
  const { defer, rig } = clusterRigs();

  it("an unacknowledged alarm is escalated once per number while both nodes live, and still once after its node is SIGKILLed", async () => {
    const { db, redis, dir } = await rig();
    const dispatch = await new DispatchReceiver().start();
    defer(() => dispatch.stop());
    const escalations = await new WebhookReceiver<EscalationEvent>((json) => escalationEventSchema.parse(json), "/escalate").start();
    defer(() => escalations.stop());
    const nodes = await makeGatewayNodes(2, {
      storeUrl: db.url,
      redisUrl: redis.url,
      dispatchUrl: dispatch.url,
      root: dir,
      extraArgs: ["--escalate-after-s", String(AFTER_S), "--escalation-repeat-s", String(REPEAT_S), "--escalation-url", escalations.url, "--escalation-secret", SECRET],
    });
    defer(() => stopAll(nodes));
    await startAll(nodes);
    const fleet = new StormFleet();
    defer(() => fleet.stop());
    await fleet.start(1, { dataDir: nodes[0]!.dataDir, storeUrl: db.url }, nodes.map((n) => n.url), dir, "kz-esc-");
    const kiosk = fleet.kiosks[0]!;
    const received = nodes.find((n) => n.url === kiosk.url)!;
    const survivor = nodes.find((n) => n !== received)!;

    kiosk.kiosk.button.press();
    await waitFor(() => fleet.pressed.size === 1 && dispatch.deliveredIds().size === 1, "the press at dispatch", 20_000);
    const [alertId] = [...fleet.pressed.keys()];
    const numbers = (): number[] => escalations.requests.filter((r) => r.body.alertId === alertId && r.status === 200).map((r) => r.body.escalation);

    // Both nodes live: #1 once. The survivor (which never saw the press) follows a beat behind, reads it raised, and sends nothing.
    await waitFor(() => numbers().length >= 1, "escalation #1 at the webhook", 20_000);
    await new Promise((r) => setTimeout(r, 7_000));
    expect(numbers()).toEqual([1]);

    // The node that received the alarm dies before #2 is due; the survivor raises it, once.
    expect(await received.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    await waitFor(() => numbers().length >= 2, "escalation #2 at the webhook, from the survivor", 30_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(numbers()).toEqual([1, 2]);
    const ids = escalations.requests.filter((r) => r.body.alertId === alertId).map((r) => r.headers["idempotency-key"]);
    expect(new Set(ids).size).toBe(2);
    expect(survivor.alive).toBe(true);
  });
});

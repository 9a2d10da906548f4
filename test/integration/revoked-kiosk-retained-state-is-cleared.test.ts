/**
 * Revoking a kiosk (`sos revoke`, or the admin API, which both end in the gateway's revocation
 * watcher) clears what the broker retains for it, whether it is connected at the time or not: nothing
 * a revoked kiosk said is handed to later subscribers, and its cut connection's last will is not published.
 */
import { describe, expect, it } from "vitest";
import { revokeKiosk } from "../../scripts/commands/revoke.js";
import { topicFor } from "../../shared/contract.js";
import { connectRogue, ROGUE, rogueTopic, startLimitsEnv, VICTIM } from "./broker-limits-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";

const OFFLINE_WILL = JSON.stringify({ v: 1, state: "offline", reason: "connection-lost" });

describe("a revoked kiosk's retained state is cleared", () => {
  const defer = deferCleanups();

  it("a connected kiosk's retained online status, and an offline kiosk's retained will, are cleared at revocation; the others' are kept", async () => {
    const env = await startLimitsEnv(defer);
    const { gateway } = env;
    // VICTIM is a real kiosk agent: it says `online`, retained, once connected.
    await waitFor(async () => (await gateway.broker.retainedTopics(VICTIM)).includes(topicFor("status", VICTIM)), "the agent's retained online status");
    // ROGUE was connected and dropped: its offline will is retained.
    const rogue = await connectRogue(env, defer, { will: { topic: rogueTopic("status"), payload: Buffer.from(OFFLINE_WILL), qos: 1, retain: true } });
    rogue.client.stream.destroy();
    await waitFor(async () => (await gateway.broker.retainedTopics(ROGUE)).includes(rogueTopic("status")), "the rogue's retained will");

    await revokeKiosk(ROGUE, { dataDir: gateway.dataDir });
    await waitFor(() => gateway.logs.find("kiosk revoked", (l) => l.kioskId === ROGUE)[0], "ROGUE's revocation seen by the gateway");
    expect(gateway.logs.find("kiosk revoked", (l) => l.kioskId === ROGUE)).toEqual([expect.objectContaining({ liveSessionsClosed: 0, retainedCleared: 1 })]);
    expect(await gateway.broker.retainedTopics(ROGUE)).toEqual([]);
    expect(await gateway.broker.retainedTopics(VICTIM)).toEqual([topicFor("status", VICTIM)]);

    await revokeKiosk(VICTIM, { dataDir: gateway.dataDir });
    await waitFor(() => gateway.logs.find("kiosk revoked", (l) => l.kioskId === VICTIM)[0], "VICTIM's revocation seen by the gateway");
    expect(gateway.logs.find("kiosk revoked", (l) => l.kioskId === VICTIM)).toEqual([expect.objectContaining({ liveSessionsClosed: 1, retainedCleared: 1 })]);
    // Its cut connection's last will (offline, retained) is refused, so nothing comes back.
    await waitFor(() => gateway.logs.find("publish refused: client disconnected", (l) => l.clientId === VICTIM && l.label === "revoked")[0], "the revoked kiosk's will refused");
    expect(await gateway.broker.retainedTopics(VICTIM)).toEqual([]);
  });
});

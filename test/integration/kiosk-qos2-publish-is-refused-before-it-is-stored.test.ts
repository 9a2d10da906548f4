/**
 * QoS 2 is refused before the broker stores anything: a kiosk that publishes 500 KiB QoS 2 packets
 * and never sends PUBREL would otherwise have each kept in Aedes' incoming store (up to 1 000 per
 * connection, surviving reconnects of a persistent session). The contract uses QoS 0 and 1.
 */
import { describe, expect, it } from "vitest";
import { topicFor } from "../../shared/contract.js";
import { alertFor, connectRogue, counter, paddedAlert, ROGUE, rogueTopic, startLimitsEnv, victimStillDelivers, VICTIM, watch } from "./broker-limits-rig.js";
import { deferCleanups } from "./cleanups.js";
import { waitFor } from "./harness.js";
import { addTestOperator, connectOperator } from "./operator-harness.js";

describe("a QoS 2 publish is refused before it is stored", () => {
  const defer = deferCleanups();

  it("a kiosk's 500 KiB QoS 2 alert on its own topic ends its connection before any PUBREC; nothing is stored, on every reconnect", async () => {
    const env = await startLimitsEnv(defer);
    const persistence = env.gateway.broker.persistence;
    if (persistence === undefined) throw new Error("the broker has no persistence");

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      // A persistent session: what the broker kept for it would survive the reconnect.
      const rogue = await connectRogue(env, defer, { clean: false });
      let messageId: number | undefined;
      rogue.client.on("packetsend", (packet) => {
        if (packet.cmd === "publish") messageId = packet.messageId;
      });
      // A valid alert, padded to 500 KiB (under the 512 KiB packet limit): only its QoS is wrong.
      rogue.client.publish(rogueTopic("alerts"), paddedAlert(ROGUE, 500 * 1024), { qos: 2 }, () => undefined);

      await waitFor(() => rogue.closed(), `attempt ${attempt}: the rogue kiosk's connection closed by the broker`);
      expect(rogue.received, "nothing after the CONNACK: no PUBREC").toEqual([]);
      if (messageId === undefined) throw new Error("the QoS 2 publish was not sent");
      await expect(persistence.incomingGetPacket({ id: ROGUE }, { messageId })).rejects.toThrow();
    }

    expect(env.gateway.logs.find("publish refused: client disconnected", (l) => l.clientId === ROGUE)[0]).toMatchObject({
      level: "warn",
      topic: rogueTopic("alerts"),
      label: "qos2",
      reason: "QoS 2 is not served: the contract uses QoS 0 and 1",
    });
    expect(await counter(env, "sos_mqtt_refused_publishes_total", { role: "kiosk", reason: "qos2" })).toBe(3);
    expect(await env.gateway.store.listAlerts()).toEqual([]);
    await victimStillDelivers(env);

    // The same kiosk at QoS 1 is served: the refusal was for the QoS alone.
    const rogue = await connectRogue(env, defer);
    await rogue.client.publishAsync(rogueTopic("alerts"), JSON.stringify(alertFor(ROGUE)), { qos: 1 });
    await waitFor(async () => (await env.gateway.store.listAlerts()).some((a) => a.kioskId === ROGUE), "the QoS 1 alert stored");
    expect(rogue.closed()).toBe(false);
  });

  it("an operator's QoS 2 call/down ends its page's connection before any PUBREC", async () => {
    const env = await startLimitsEnv(defer);
    await addTestOperator(env.gateway.dataDir, "alice");
    const page = watch(await connectOperator(env.gateway.httpPort, "alice"), defer);
    const hangup = { v: 1, type: "hangup", callId: "call-0001-abcd", reason: "x" };
    page.client.publish(topicFor("callDown", VICTIM), JSON.stringify(hangup), { qos: 2 }, () => undefined);
    await waitFor(() => page.closed(), "the operator page's connection closed by the broker");
    expect(page.received, "nothing after the CONNACK: no PUBREC").toEqual([]);
    expect(await counter(env, "sos_mqtt_refused_publishes_total", { role: "operator", reason: "qos2" })).toBe(1);
  });
});

/**
 * The broker's retained messages, as the gateway reads and clears them. Only a kiosk's status is
 * retained (acl.ts decidePublishContract); a revoked kiosk's is cleared (security/revocation.ts).
 */
import type { Aedes } from "aedes";
import { TOPIC_PREFIX } from "../../shared/contract.js";

/** What the gateway reads of Aedes' persistence (aedes-persistence's interface). */
export interface BrokerPersistence {
  createRetainedStream(pattern: string): AsyncIterable<{ topic: string }>;
  incomingGetPacket(client: { id: string }, packet: { messageId: number }): Promise<unknown>;
}

/** The topics under the kiosk's prefix that hold a retained message. */
export async function retainedTopics(persistence: BrokerPersistence | undefined, kioskId: string): Promise<string[]> {
  const found: string[] = [];
  if (persistence === undefined) return found;
  for await (const packet of persistence.createRetainedStream(`${TOPIC_PREFIX}/${kioskId}/#`)) found.push(packet.topic);
  return found;
}

/**
 * Clears every retained message of a kiosk: an empty retained publish on each topic that holds one,
 * which is how MQTT deletes a retained message. Resolves with how many were cleared.
 */
export async function clearRetained(aedes: Aedes, persistence: BrokerPersistence | undefined, kioskId: string): Promise<number> {
  const held = await retainedTopics(persistence, kioskId);
  for (const topic of held) {
    await new Promise<void>((resolve, reject) => {
      aedes.publish({ cmd: "publish", topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }
  return held.length;
}

/**
 * Retained messages looked up by topic for subscriptions that name one topic.
 *
 * Aedes' in-memory persistence (aedes-persistence 11, asyncPersistence.js) answers every SUBSCRIBE
 * by testing each retained message against each filter. Each kiosk keeps one retained status, and
 * each kiosk subscribes at each connection to filters that name a single topic (its acks, commands,
 * call signalling): a fleet reconnecting at once (a node of a cluster dies) costs kiosks² topic tests
 * on the node they move to. Measured on one node taking 3 000 kiosks: 15% of its CPU, the largest
 * single cost of a connection.
 *
 * So an index of the same retained messages by topic is kept beside the persistence's own, updated
 * when a store succeeds; a SUBSCRIBE whose filters have no wildcard is answered from it, any other
 * from the persistence as before. Installed on the default persistence only (a persistence given
 * to the broker answers for itself).
 */
import { Readable } from "node:stream";

export interface RetainedPacket {
  readonly topic: string;
  readonly payload: Buffer;
}

type Done = (err?: Error | null) => void;

/** What this wraps of aedes-persistence's interface (callback or promise, as Aedes calls it). */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket, cb?: Done): Promise<void> | undefined;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const hasWildcard = (filter: string): boolean => filter.includes("+") || filter.includes("#");

/** Wraps the persistence's retained store and lookup in place; returns the index (for tests). */
export function indexRetained(persistence: RetainedPersistence): ReadonlyMap<string, RetainedPacket> {
  const byTopic = new Map<string, RetainedPacket>();
  const remember = (packet: RetainedPacket): void => {
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
  };
  const store = persistence.storeRetained.bind(persistence);
  persistence.storeRetained = (packet, cb) => {
    if (cb !== undefined) {
      return store(packet, (err) => {
        if (err === undefined || err === null) remember(packet);
        cb(err);
      });
    }
    return store(packet)?.then(() => remember(packet));
  };
  const combi = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) => {
    if (patterns.some(hasWildcard)) return combi(patterns);
    const found: RetainedPacket[] = [];
    for (const topic of patterns) {
      const packet = byTopic.get(topic);
      if (packet !== undefined) found.push(packet);
    }
    return Readable.from(found);
  };
  return byTopic;
}

/**
 * QoS 1 messages routed from another cluster node, delivered to a persistent session on this one.
 *
 * Aedes enqueues a QoS > 0 publish for the persistent sessions (clean: false) that its own
 * persistence knows, then emits it (aedes 1.2 aedes.js: enqueueOffline before emitPacket), and
 * delivers it to such a client only after `outgoingUpdate` has found it in that queue
 * (lib/client.js deliverQoS). With a persistence per node (the in-memory default), a message
 * published on node B reaches a kiosk on node A through the routing emitter (../cluster/routing.ts)
 * without passing A's publish pipeline: B's persistence does not know the kiosk's session, A's never
 * enqueued the message, `outgoingUpdate` throws "no such packet", Aedes takes it for a client error
 * and closes the kiosk's connection, and the message is gone: an operator on another node could
 * not answer a call (accept, answer and ICE on `call/down`), nor reach the kiosk with any QoS 1
 * message.
 *
 * The fix: a message that carries another broker's id and that this node's persistence does not hold
 * is enqueued for the client first and then updated, so it is in flight like any other (a PUBACK
 * clears it; a reconnect to this node before the PUBACK resends it). Messages published on this
 * node (and any message a shared persistence holds) take the usual path unchanged.
 */

/** The part of Aedes' persistence this touches (aedes-persistence's interface). */
export interface OutgoingPersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: RoutedPacket): Promise<void>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
}

/** What this touches of Aedes' emitter (its `mq`). */
interface SysEmitter {
  on(topic: string, listener: (packet: { topic: string; payload?: unknown }, done: () => void) => void): unknown;
}

/**
 * A client that connects to another node (Aedes announces it on `$SYS/<broker>/new/clients`) leaves
 * its persistent session here: Aedes closes the old connection but keeps the session's
 * subscriptions, so this node would queue every QoS 1 message to it in memory for as long as it is
 * away. They are dropped (what is queued already stays, for a return here); a kiosk subscribes
 * again at each connection (device/link/mqtt-link.ts).
 */
export function forgetSessionsThatMoved(mq: SysEmitter, persistence: OutgoingPersistence, brokerId: string): void {
  mq.on("$SYS/+/new/clients", (packet, done) => {
    const from = packet.topic.split("/")[1];
    if (from === brokerId) return done();
    const clientId = Buffer.isBuffer(packet.payload) ? packet.payload.toString("utf8") : String(packet.payload);
    persistence.cleanSubscriptions({ id: clientId }).then(done, done);
  });
}

export interface RoutedPacket {
  readonly brokerId?: string;
  readonly brokerCounter?: number;
}

/** Wraps `persistence.outgoingUpdate` in place (Aedes calls it on its own persistence object). */
export function acceptRoutedPackets(persistence: OutgoingPersistence, brokerId: string): void {
  const update = persistence.outgoingUpdate.bind(persistence);
  persistence.outgoingUpdate = async (client, packet) => {
    if (packet.brokerId === undefined || packet.brokerId === brokerId) return update(client, packet);
    try {
      await update(client, packet);
    } catch {
      // Published on another node: this node's queue for the client never had it.
      await persistence.outgoingEnqueue({ clientId: client.id }, packet);
      await update(client, packet);
    }
  };
}

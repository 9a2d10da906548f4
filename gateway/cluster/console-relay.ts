/**
 * The console's event stream on every node of a cluster: what one node sends its pages (an alarm's
 * new step, the kiosks that beat) goes to the other nodes' pages too, through the cluster's MQTT
 * routing on an internal topic no client can reach. Each event carries the node it came from, and a
 * node delivers only the others' (its own went to its pages already). Relayed: `alarm-changed` (which
 * alarm has a new step: each node with pages builds the view for its own, alarms/alarm-pages.ts),
 * `heartbeats` and `kiosk` (a kiosk's state changes on the one node that supervises it,
 * cluster/kiosk-owners.ts). A whole `alarm` view from a node of an earlier version (a rolling upgrade)
 * is delivered as it is; such a node drops `alarm-changed`, so its pages miss the steps stored on
 * upgraded nodes until they reload (new alarms still ring: they come over MQTT). Not relayed: `dispatch` (each node's banner follows its own dispatch
 * forwarder: a node that cannot reach dispatch says so on its own pages, whatever the others see).
 */
import type { Logger } from "pino";
import type { EventStream } from "../alarms/stream.js";
import { ALARM_CHANGED } from "../alarms/alarm-pages.js";
import type { GatewayBroker } from "../broker/broker.js";

export const CONSOLE_TOPIC = "$SOS/console";
const RELAYED = new Set([ALARM_CHANGED, "alarm", "heartbeats", "kiosk"]);

/** `alarmChanged`: another node stored a step of this alarm (AlarmPages.show). */
export async function relayConsole(broker: GatewayBroker, stream: EventStream, nodeId: string, log: Logger, alarmChanged: (alertId: string) => void): Promise<void> {
  await broker.subscribeInternal(CONSOLE_TOPIC, (payload) => {
    let message: { from?: unknown; event?: unknown; data?: unknown };
    try {
      message = JSON.parse(payload.toString("utf8")) as typeof message;
    } catch {
      log.warn({ bytes: payload.length }, "console event from another node is not JSON: dropped");
      return;
    }
    if (message.from === nodeId || typeof message.event !== "string" || !RELAYED.has(message.event)) return;
    if (message.event !== ALARM_CHANGED) {
      stream.deliver(message.event, message.data);
      return;
    }
    const alertId = (message.data as { alertId?: unknown } | null)?.alertId;
    if (typeof alertId === "string") alarmChanged(alertId);
  });
  stream.relayTo((event, data) => {
    if (!RELAYED.has(event)) return;
    broker.publishInternal(CONSOLE_TOPIC, JSON.stringify({ from: nodeId, event, data })).catch((err: unknown) => log.debug({ err, event }, "console event not relayed to the other nodes"));
  });
}

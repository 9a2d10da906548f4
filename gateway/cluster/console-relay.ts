/**
 * The console's event stream on every node of a cluster: what one node sends its pages (an alarm's
 * new step, the kiosks that beat) goes to the other nodes' pages too, through the cluster's MQTT
 * routing on an internal topic no client can reach. Each event carries the node it came from, and a
 * node delivers only the others' (its own went to its pages already). Relayed:
 * - `alarm-changed`: which alarm has a new step; each node with pages builds the view for its own
 *   (alarms/alarm-pages.ts). A whole `alarm` view from a node of an earlier version (a rolling
 *   upgrade) is delivered as it is; such a node drops `alarm-changed`, so its pages miss the steps
 *   stored on upgraded nodes until they reload (new alarms still ring: they come over MQTT);
 * - `heartbeats` (thousands of kiosk ids every 15 s), only while another node has pages: a node with
 *   pages says so (`pages`) when its first page opens and every PAGES_SAID_MS after;
 * - `kiosk`: a kiosk's state changes on the one node that supervises it (cluster/kiosk-owners.ts);
 *   its row is read only while some node has pages.
 * Not relayed: `dispatch` (each node's banner follows its own dispatch forwarder: a node that cannot
 * reach dispatch says so on its own pages, whatever the others see).
 */
import type { Logger } from "pino";
import type { EventStream } from "../alarms/stream.js";
import { ALARM_CHANGED } from "../alarms/alarm-pages.js";
import type { GatewayBroker } from "../broker/broker.js";

export const CONSOLE_TOPIC = "$SOS/console";
const RELAYED = new Set([ALARM_CHANGED, "alarm", "heartbeats", "kiosk"]);
const PAGES = "pages";
/** A node with pages says so this often; the others send it heartbeat batches until three of these pass unsaid. */
export const PAGES_SAID_MS = 5_000;
const PAGES_HEARD_MS = 3 * PAGES_SAID_MS;

/** `alarmChanged`: another node stored a step of this alarm (AlarmPages.show). Returns its stop. */
export async function relayConsole(broker: GatewayBroker, stream: EventStream, nodeId: string, log: Logger, alarmChanged: (alertId: string) => void): Promise<() => void> {
  /** nodeId → when it last said it has pages. */
  const pagesAt = new Map<string, number>();
  const pagesElsewhere = (): boolean => {
    const now = Date.now();
    for (const at of pagesAt.values()) if (now - at <= PAGES_HEARD_MS) return true;
    return false;
  };
  const publish = (event: string, data?: unknown): void => {
    broker.publishInternal(CONSOLE_TOPIC, JSON.stringify({ from: nodeId, event, data })).catch((err: unknown) => log.debug({ err, event }, "console event not relayed to the other nodes"));
  };
  await broker.subscribeInternal(CONSOLE_TOPIC, (payload) => {
    let message: { from?: unknown; event?: unknown; data?: unknown } | null;
    try {
      message = JSON.parse(payload.toString("utf8")) as typeof message;
    } catch {
      message = null;
    }
    if (typeof message !== "object" || message === null) {
      log.warn({ bytes: payload.length }, "console event from another node is not a JSON object: dropped");
      return;
    }
    if (message.from === nodeId || typeof message.from !== "string") return;
    if (message.event === PAGES) {
      pagesAt.set(message.from, Date.now());
      return;
    }
    if (typeof message.event !== "string" || !RELAYED.has(message.event)) return;
    if (message.event !== ALARM_CHANGED) {
      stream.deliver(message.event, message.data);
      return;
    }
    const alertId = (message.data as { alertId?: unknown } | null)?.alertId;
    if (typeof alertId === "string") alarmChanged(alertId);
  });
  stream.relayTo((event, data) => {
    if (!RELAYED.has(event) || (event === "heartbeats" && !pagesElsewhere())) return;
    publish(event, data);
  }, pagesElsewhere);
  const sayPages = (): void => {
    if (stream.size > 0) publish(PAGES);
  };
  stream.onFirstPage(sayPages);
  const timer = setInterval(sayPages, PAGES_SAID_MS);
  return () => clearInterval(timer);
}

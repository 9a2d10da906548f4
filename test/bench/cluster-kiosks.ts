/**
 * Child process for bench:cluster: holds N light simulated kiosks (real mqtt.js clients, no agent,
 * no outbox: they never press; the bench's pressing kiosks are real agents) connected to a cluster
 * of gateway nodes. Each kiosk tries the nodes in the agent's order for its id (`mqtt.order`
 * "spread"); on a drop mqtt.js moves to the next node (`servers`) after a per-kiosk
 * reconnect period drawn in 200–1 000 ms, so a fleet does not come back in one burst. Link liveness
 * as the kiosk agent's (device/link/mqtt-link.ts): keepalive 12 s, and a PINGREQ every heartbeat
 * interval (10 s, each kiosk at its own phase) that must be answered within 5 s, else the link is
 * given up (the heartbeat's own publish is left out: these kiosks stand for the fleet's connections).
 * argv: nodesJSON ([{host,port}], base order) first count prefix secret keepaliveS
 * stdout: "ready N" once all are connected; then on each stdin line "status SINCE_MS PORT" one JSON
 * line (status() below).
 */
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import mqtt from "mqtt";
import { topicFor } from "../../shared/contract.js";
import { spreadOrder } from "../../shared/gateway-order.js";

const [nodesText, firstText, countText, prefix, secret, keepaliveText] = process.argv.slice(2);
if (nodesText === undefined || firstText === undefined || countText === undefined || prefix === undefined || secret === undefined || keepaliveText === undefined) {
  process.stderr.write("usage: cluster-kiosks NODES_JSON FIRST COUNT PREFIX SECRET KEEPALIVE_S\n");
  process.exit(2);
}
const nodes = JSON.parse(nodesText) as { host: string; port: number }[];
/** The kiosk agent's defaults: health.heartbeatIntervalS and mqtt.pingTimeoutMs. */
const HEARTBEAT_MS = 10_000;
const PING_TIMEOUT_MS = 5_000;
const first = Number(firstText);
const count = Number(countText);

interface SimKiosk {
  client: mqtt.MqttClient;
  /** The node port of the current connection, null while down. */
  port: number | null;
  /** The latest drops: when, and from which node port. */
  drops: { at: number; port: number }[];
  connectedAt: number;
}
const kiosks: SimKiosk[] = [];

function connectOne(i: number): Promise<void> {
  const id = `${prefix}${i}`;
  // The kiosk agent's own order (shared/gateway-order.ts): the fleet and a dead node's kiosks spread evenly.
  const servers = spreadOrder(nodes, id);
  const will = { v: 1, state: "offline", reason: "connection-lost" };
  const client = mqtt.connect({
    servers,
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    clean: false,
    keepalive: Number(keepaliveText),
    connectTimeout: 5_000,
    reconnectPeriod: 200 + Math.floor(Math.random() * 800),
    queueQoSZero: false,
    will: { topic: topicFor("status", id), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
  });
  const kiosk: SimKiosk = { client, port: null, drops: [], connectedAt: 0 };
  client.on("error", () => undefined);
  let heardAt = 0;
  client.on("packetreceive", () => (heardAt = Date.now()));
  const probe = (): void => {
    if (!client.connected) return;
    const sentAt = Date.now();
    client.sendPing();
    setTimeout(() => {
      if (client.connected && heardAt < sentAt) client.stream.destroy();
    }, PING_TIMEOUT_MS);
  };
  setTimeout(() => setInterval(probe, HEARTBEAT_MS), Math.random() * HEARTBEAT_MS);
  client.on("close", () => {
    if (kiosk.port !== null) kiosk.drops = [...kiosk.drops.slice(-4), { at: Date.now(), port: kiosk.port }];
    kiosk.port = null;
  });
  return new Promise((resolve) => {
    client.on("connect", () => {
      kiosk.port = (client.stream as Socket).remotePort ?? -1;
      kiosk.connectedAt = Date.now();
      if (!kiosks.includes(kiosk)) {
        kiosks.push(kiosk);
        // The acks subscription (restored by the persistent session on later connects).
        client.subscribe(topicFor("acks", id), { qos: 1 });
        resolve();
      }
    });
  });
}

/**
 * The fleet now, and the kiosks that lost a connection to node `port` at or after `since`: when each
 * noticed (ms after since), when it was connected again (elsewhere or, later, there), how many are
 * not yet; `collateral`: kiosks that lost a connection to another node meanwhile.
 */
function status(since: number, port: number): string {
  const byPort: Record<string, number> = {};
  let down = 0;
  const movedMs: number[] = [];
  const noticedMs: number[] = [];
  let waiting = 0;
  let collateral = 0;
  for (const k of kiosks) {
    if (k.port === null) down += 1;
    else byPort[k.port] = (byPort[k.port] ?? 0) + 1;
    const lost = k.drops.find((d) => d.at >= since && d.port === port);
    if (lost !== undefined) {
      noticedMs.push(lost.at - since);
      if (k.port === null) waiting += 1;
      else movedMs.push(k.connectedAt - since);
    } else if (k.drops.some((d) => d.at >= since)) collateral += 1;
  }
  return JSON.stringify({ byPort, down, movedMs, noticedMs, waiting, collateral });
}

async function main(): Promise<void> {
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => connectOne(first + i + j)));
  }
  process.stdout.write(`ready ${kiosks.length}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [word, since, port] = line.split(" ");
    if (word === "status") process.stdout.write(`${status(Number(since), Number(port))}\n`);
  });
}

process.on("SIGTERM", () => {
  void Promise.all(kiosks.map((k) => k.client.endAsync(true))).finally(() => process.exit(0));
});

main().catch((err: unknown) => {
  process.stderr.write(`cluster-kiosks: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

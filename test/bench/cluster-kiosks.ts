/**
 * Child process for bench:cluster: holds N light simulated kiosks (real mqtt.js clients, no agent,
 * no outbox: they never press; the bench's pressing kiosks are real agents) connected to a cluster
 * of gateway nodes. Each kiosk tries the nodes in the agent's order for its id (`mqtt.order`
 * "spread"); on a drop mqtt.js moves to the next node (`servers`) after a per-kiosk
 * reconnect period drawn in 200–1 000 ms, so a fleet does not come back in one burst. Link liveness
 * and connect timeout as the kiosk agent's defaults, with its own probe (device/link/ping-probe.ts):
 * keepalive 12 s, a PINGREQ every 5 s that must be answered within 5 s, else the link is given up;
 * a CONNACK awaited 10 s. Each kiosk also sends the agent's heartbeat (a valid one, QoS 0, with a
 * PINGREQ right behind it) once at each connect and then every health.heartbeatIntervalS (10 s), at
 * its own phase: a kiosk that stays connected without heartbeats goes offline at the gateway after
 * two missed beats, and a fleet doing so would fill every phase with transitions no real fleet makes.
 * argv: nodesJSON ([{host,port}], base order) first count prefix secret keepaliveS
 * stdout: "ready N" once all are connected; then on each stdin line "status SINCE_MS PORT" one JSON
 * line (status() below).
 */
import type { Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import mqtt from "mqtt";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { topicFor } from "../../shared/contract.js";
import { PingProbe } from "../../device/link/ping-probe.js";
import { spreadOrder } from "../../shared/gateway-order.js";
import { makeHeartbeat } from "../fixtures/heartbeat.js";

const [nodesText, firstText, countText, prefix, secret, keepaliveText] = process.argv.slice(2);
if (nodesText === undefined || firstText === undefined || countText === undefined || prefix === undefined || secret === undefined || keepaliveText === undefined) {
  process.stderr.write("usage: cluster-kiosks NODES_JSON FIRST COUNT PREFIX SECRET KEEPALIVE_S\n");
  process.exit(2);
}
const nodes = JSON.parse(nodesText) as { host: string; port: number }[];
/** The kiosk agent's defaults (shared/config/kiosk.ts): mqtt.pingIntervalMs, pingTimeoutMs, connectTimeoutMs. */
const DEFAULTS = parseKioskConfig({ version: 1, kioskId: "bench-defaults", location: { lat: 0, lon: 0, address: "-" }, mqtt: { url: "mqtt://127.0.0.1:1883", username: "bench-defaults", password: "-" } });
const AGENT = DEFAULTS.mqtt;
const PINGS = { intervalMs: AGENT.pingIntervalMs, timeoutMs: AGENT.pingTimeoutMs };
const CONNECT_TIMEOUT_MS = AGENT.connectTimeoutMs;
const HEARTBEAT_S = DEFAULTS.health.heartbeatIntervalS;
const started = Date.now();
/** As an agent reports it: its last scheduled test alarm (here the fleet's start), not a new time at every beat. */
const STARTED_AT = new Date(started).toISOString();
const first = Number(firstText);
const count = Number(countText);

interface SimKiosk {
  client: mqtt.MqttClient;
  /** The node port of the current connection, null while down. */
  port: number | null;
  /** The latest drops: when, and from which node port. */
  drops: { at: number; port: number }[];
  connectedAt: number;
  /** Connection attempts since the last drop, and how many the last (re)connection took. */
  tries: number;
  lastTries: number;
  /** Why each failed try since the last drop failed, with the node port it tried ("connack timeout@4711"). */
  failures: string[];
}
const kiosks: SimKiosk[] = [];
/** How late (ms) this process ran each CONNACK timeout's timer: its own event loop's lag. */
const lateTimers: [number, number][] = [];
/** This process's event-loop delay, the worst of each second: [when, ms]. */
const lag: [number, number][] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
setInterval(() => {
  lag.push([Date.now(), loop.max / 1e6]);
  if (lag.length > 600) lag.shift();
  loop.reset();
}, 1_000).unref();
const bucket = (ms: number): string => (ms < 1_000 ? "<1 s" : ms < 3_000 ? "1–3 s" : "≥3 s");

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
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: 200 + Math.floor(Math.random() * 800),
    // As the agent, which reconnects after any close: a CONNACK refusal ("server unavailable" from an overloaded node) too.
    reconnectOnConnackError: true,
    queueQoSZero: false,
    will: { topic: topicFor("status", id), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
  });
  const kiosk: SimKiosk = { client, port: null, drops: [], connectedAt: 0, tries: 0, lastTries: 0, failures: [] };
  let failed = false;
  const fail = (why: string): void => {
    if (failed || kiosk.port !== null) return;
    failed = true;
    kiosk.failures.push(`${why}@${client.options.port ?? "?"}`);
  };
  client.on("reconnect", () => {
    kiosk.tries += 1;
    failed = false;
  });
  // A CONNACK timeout says which part of the handshake never finished: TCP's (SYN unanswered) or the
  // CONNACK (connected, CONNECT written, nothing back); and how late this process ran the timer.
  let tcpAt: number | undefined;
  let connectSentAt = 0;
  client.on("packetsend", (p) => {
    if (p.cmd !== "connect") return;
    connectSentAt = Date.now();
    tcpAt = undefined;
    const stream = client.stream as Socket;
    if (stream.connecting) stream.once("connect", () => (tcpAt = Date.now()));
    else tcpAt = connectSentAt;
  });
  client.on("error", (err) => {
    if (err.message !== "connack timeout") return fail(err.message);
    const late = Date.now() - connectSentAt - CONNECT_TIMEOUT_MS;
    lateTimers.push([Date.now(), late]);
    if (lateTimers.length > 10_000) lateTimers.shift();
    fail(tcpAt === undefined ? "connack timeout, TCP never connected" : `connack timeout, TCP connected in ${bucket(tcpAt - connectSentAt)}`);
  });
  const probe = new PingProbe(PINGS, () => client.sendPing(), () => client.stream.destroy());
  let seq = 0;
  let beats: NodeJS.Timeout | undefined;
  // As the agent's link (device/link/mqtt-link.ts publishHeartbeat): the heartbeat, then a PINGREQ that counts as the probe's.
  const beat = (): void => {
    if (!client.connected) return;
    seq += 1;
    client.publish(topicFor("heartbeat", id), JSON.stringify(makeHeartbeat({ seq, intervalS: HEARTBEAT_S, uptimeS: Math.round((Date.now() - started) / 1_000), lastTestAlarmAt: STARTED_AT })), { qos: 0 });
    client.sendPing();
    probe.pinged();
  };
  client.on("packetreceive", () => probe.heard());
  client.on("close", () => {
    probe.stop();
    clearInterval(beats);
    if (kiosk.port !== null) {
      kiosk.drops = [...kiosk.drops.slice(-4), { at: Date.now(), port: kiosk.port }];
      kiosk.failures = [];
    } else fail("closed before CONNACK");
    kiosk.port = null;
  });
  return new Promise((resolve) => {
    client.on("connect", () => {
      kiosk.port = (client.stream as Socket).remotePort ?? -1;
      // The fleet's first connections come in bursts of 100: each kiosk pings at its own phase, as
      // agents connected over time do. A kiosk that moved probes from its new connection on.
      if (kiosks.includes(kiosk)) probe.start();
      else setTimeout(() => client.connected && probe.start(), Math.random() * PINGS.intervalMs);
      // One heartbeat at each connect, then every interval from a phase of its own.
      beat();
      clearInterval(beats);
      beats = setTimeout(() => {
        beat();
        beats = setInterval(beat, HEARTBEAT_S * 1_000);
      }, Math.random() * HEARTBEAT_S * 1_000);
      kiosk.connectedAt = Date.now();
      kiosk.lastTries = kiosk.tries;
      kiosk.tries = 0;
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
 * noticed (ms after since), when it was connected again (elsewhere or, later, there) and in how many
 * tries (and why the failed ones failed), how many are not yet; `collateral`: kiosks that lost a connection to another node meanwhile;
 * this process's own lateness since then (its event loop's worst second, and its latest CONNACK timer).
 */
function status(since: number, port: number): string {
  const byPort: Record<string, number> = {};
  let down = 0;
  const movedMs: number[] = [];
  const noticedMs: number[] = [];
  const tries: number[] = [];
  const failures: Record<string, number> = {};
  let waiting = 0;
  let collateral = 0;
  for (const k of kiosks) {
    if (k.port === null) down += 1;
    else byPort[k.port] = (byPort[k.port] ?? 0) + 1;
    const lost = k.drops.find((d) => d.at >= since && d.port === port);
    if (lost !== undefined) {
      noticedMs.push(lost.at - since);
      for (const f of k.failures) failures[f] = (failures[f] ?? 0) + 1;
      if (k.port === null) waiting += 1;
      else {
        movedMs.push(k.connectedAt - since);
        tries.push(k.lastTries);
      }
    } else if (k.drops.some((d) => d.at >= since)) collateral += 1;
  }
  const lagSince = lag.filter(([at]) => at >= since).map(([, ms]) => ms);
  return JSON.stringify({ byPort, down, movedMs, noticedMs, tries, failures, waiting, collateral, lagMaxMs: Math.max(0, ...lagSince), lagOver1s: lagSince.filter((ms) => ms >= 1_000).length, lateTimerMaxMs: Math.max(0, ...lateTimers.filter(([at]) => at >= since).map(([, ms]) => ms)) });
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

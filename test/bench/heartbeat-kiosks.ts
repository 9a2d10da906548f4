/**
 * Child process for bench:fleet: holds N kiosk connections (real mqtt.js clients with the kiosk
 * agent's keepalive and last will) and publishes a heartbeat (shared/health.ts) from each every
 * intervalS, the first at a random moment within the first interval so the fleet does not beat in
 * step. Prints "ready N" when all are connected, then "beats N" every 10 s.
 * argv: mqttUrl firstIndex count idPrefix secret intervalS
 */
import mqtt from "mqtt";
import { topicFor } from "../../shared/contract.js";
import { makeHeartbeat } from "../fixtures/heartbeat.js";

const [url, firstText, countText, prefix, secret, intervalText] = process.argv.slice(2);
if (url === undefined || firstText === undefined || countText === undefined || prefix === undefined || secret === undefined || intervalText === undefined) {
  process.stderr.write("usage: heartbeat-kiosks URL FIRST COUNT PREFIX SECRET INTERVAL_S\n");
  process.exit(2);
}
const first = Number(firstText);
const count = Number(countText);
const intervalS = Number(intervalText);
const clients: mqtt.MqttClient[] = [];
const timers: NodeJS.Timeout[] = [];
let beats = 0;
const started = Date.now();
/** As an agent reports it: its last scheduled test alarm (here the fleet's start), not a new time at every beat. */
const STARTED_AT = new Date(started).toISOString();

function beat(client: mqtt.MqttClient, id: string, seq: number): void {
  const heartbeat = makeHeartbeat({ seq, intervalS, uptimeS: (Date.now() - started) / 1_000, lastTestAlarmAt: STARTED_AT });
  client.publish(topicFor("heartbeat", id), JSON.stringify(heartbeat), { qos: 0 }, (err) => {
    if (err === undefined) beats += 1;
  });
}

async function connectOne(i: number): Promise<void> {
  const id = `${prefix}${i}`;
  const will = { v: 1, state: "offline", reason: "connection-lost" };
  const client = await mqtt.connectAsync(url as string, {
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1_000,
    queueQoSZero: false,
    will: { topic: topicFor("status", id), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
  });
  clients.push(client);
  let seq = 0;
  timers.push(
    setTimeout(
      () => {
        beat(client, id, (seq += 1));
        timers.push(setInterval(() => beat(client, id, (seq += 1)), intervalS * 1_000));
      },
      Math.random() * intervalS * 1_000,
    ),
  );
}

async function main(): Promise<void> {
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => connectOne(first + i + j)));
  }
  process.stdout.write(`ready ${clients.length}\n`);
  setInterval(() => process.stdout.write(`beats ${beats}\n`), 10_000).unref();
}

process.on("SIGTERM", () => {
  for (const t of timers) clearTimeout(t);
  void Promise.all(clients.map((c) => c.endAsync(true))).finally(() => process.exit(0));
});

main().catch((err: unknown) => {
  process.stderr.write(`heartbeat-kiosks: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

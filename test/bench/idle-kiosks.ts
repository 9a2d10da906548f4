/**
 * Child process for benchmarks: holds N idle kiosk connections to a gateway (real mqtt.js clients,
 * each subscribed to its acks topic, keepalive 30 s). Prints "ready N" when all are connected.
 * argv: mqttUrl count idPrefix secret
 */
import mqtt from "mqtt";
import { topicFor } from "../../shared/contract.js";

const [url, countText, prefix, secret] = process.argv.slice(2);
if (url === undefined || countText === undefined || prefix === undefined || secret === undefined) {
  process.stderr.write("usage: idle-kiosks URL COUNT PREFIX SECRET\n");
  process.exit(2);
}
const count = Number(countText);
const clients: mqtt.MqttClient[] = [];

async function connectOne(i: number): Promise<void> {
  const id = `${prefix}${i}`;
  const client = await mqtt.connectAsync(url as string, {
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    clean: false,
    keepalive: 30,
    reconnectPeriod: 1_000,
  });
  await client.subscribeAsync(topicFor("acks", id), { qos: 1 });
  clients.push(client);
}

async function main(): Promise<void> {
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => connectOne(i + j)));
  }
  process.stdout.write(`ready ${clients.length}\n`);
}

process.on("SIGTERM", () => {
  void Promise.all(clients.map((c) => c.endAsync(true))).finally(() => process.exit(0));
});

main().catch((err: unknown) => {
  process.stderr.write(`idle-kiosks: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

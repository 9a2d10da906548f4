/**
 * The MQTT listener's accept queue (config.broker.listenBacklog, 4 096): a thousand kiosks that
 * connect while the gateway's event loop is busy (a node of a cluster died and its kiosks arrive at
 * once) wait in the kernel's queue and complete their TCP handshake at once. With Node's default of
 * 511 the kernel drops the SYNs past the queue, and those kiosks retry after TCP's one-second
 * retransmission timeout (1, 2, 4 s…), which bench:cluster saw as CONNACK timeouts on idle nodes.
 * A child process connects (this process's loop is the gateway's, held busy meanwhile).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, tempDir, type TestGateway } from "./harness.js";

const KIOSKS = 1_000;
const dir = tempDir("sos-backlog-");
let gateway: TestGateway;

/** Opens `count` TCP connections to `port` at once, `delayMs` after it starts; prints each one's connect time (ms). */
const CONNECTOR = `
const net = require("node:net");
const [port, count, delayMs] = process.argv.slice(1).map(Number);
setTimeout(() => {
  const times = [];
  const sockets = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const s = net.connect(port, "127.0.0.1", () => {
      times.push(performance.now() - started);
      if (times.length === count) {
        process.stdout.write(JSON.stringify(times));
        for (const x of sockets) x.destroy();
      }
    });
    s.on("error", (err) => { process.stderr.write(String(err)); process.exit(1); });
    sockets.push(s);
  }
}, delayMs);
`;

beforeAll(async () => {
  gateway = await startTestGateway(dir.path, { limits: { connectionBurst: 0 } });
});

afterAll(async () => {
  await gateway.stop();
  dir.remove();
});

describe("the gateway's MQTT listener", () => {
  it("queues a thousand connections made while its loop is busy, and each completes its TCP handshake without a retransmission", async () => {
    const child = spawn(process.execPath, ["-e", CONNECTOR, String(gateway.mqttPort), String(KIOSKS), "300"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // The gateway (this process) accepts nothing for 1.5 s: the connections made meanwhile wait in the kernel's queue.
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      // busy, as a node taking over a dead node's kiosks
    }
    expect(await exited, err).toBe(0);
    const times = JSON.parse(out) as number[];
    expect(times).toHaveLength(KIOSKS);
    // A dropped SYN is retried after 1 s (then 2, 4 s): none may have been.
    const retried = times.filter((ms) => ms >= 1_000).length;
    expect(retried, `slowest ${Math.max(...times).toFixed(0)} ms`).toBe(0);
  });
});

/**
 * npm run bench:security — the costs of the security features, on one in-process gateway with a CA:
 * enrolment (key pair, CSR, HTTPS, issue), connecting over mutual TLS vs with a password (each until
 * CONNACK), and revocation (from `sos revoke`'s write to the live session being cut).
 * Options (env): BENCH_RUNS (default 30).
 */
import { cpus, tmpdir } from "node:os";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import mqtt from "mqtt";
import { startGateway } from "../../gateway/main.js";
import { initCa, pkiPaths } from "../../gateway/pki/ca.js";
import { enrollKiosk } from "../../scripts/commands/enroll.js";
import { provisionKiosk } from "../../scripts/commands/provision.js";
import { revokeKiosk } from "../../scripts/commands/revoke.js";
import { createEnrolmentTokens } from "../../scripts/commands/token.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { loadKioskConfig } from "../../shared/config/kiosk.js";
import { createLogger } from "../../shared/log.js";
import { percentile, sorted } from "./lib.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function row(name: string, xs: number[]): string {
  const s = sorted(xs);
  return `| ${name.padEnd(36)} | ${percentile(s, 50).toFixed(1).padStart(7)} | ${percentile(s, 99).toFixed(1).padStart(7)} | ${(s.at(-1) ?? NaN).toFixed(1).padStart(7)} |`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-sec-"));
  const dataDir = join(dir, "gw");
  await initCa(dataDir, { serverNames: ["127.0.0.1"] });
  const config = parseGatewayConfig({ dataDir, mqtt: { host: "127.0.0.1", port: 0 }, mqtts: { host: "127.0.0.1", port: 0 }, http: { host: "127.0.0.1", port: 0 }, limits: { connectionBurst: 0 } });
  const gateway = await startGateway(config, { log: createLogger({ name: "gateway", level: "silent" }) });
  const ca = readFileSync(pkiPaths(dataDir).caCert, "utf8");
  const enrol: number[] = [];
  const tlsConnect: number[] = [];
  const passwordConnect: number[] = [];
  const revoke: number[] = [];
  try {
    const { tokens } = await createEnrolmentTokens({ dataDir, count: RUNS });
    const kiosks = [];
    for (let i = 0; i < RUNS; i += 1) {
      const id = `bench-tls-${i}`;
      const t0 = performance.now();
      await enrollKiosk({ gateway: `https://127.0.0.1:${gateway.httpPort}`, token: tokens[i], id, lat: 43, lon: 76, address: "bench", caCert: pkiPaths(dataDir).caCert, out: join(dir, id) });
      enrol.push(performance.now() - t0);
      kiosks.push(loadKioskConfig(join(dir, id, "kiosk.json")));
    }
    const clients = [];
    for (const k of kiosks) {
      const tls = k.mqtt.tls;
      if (tls === undefined) throw new Error("no tls");
      const t0 = performance.now();
      clients.push({ id: k.kioskId, client: await mqtt.connectAsync(`mqtts://127.0.0.1:${String(gateway.mqttsPort)}`, { clientId: k.kioskId, protocolVersion: 4, reconnectPeriod: 0, ca, cert: readFileSync(tls.cert), key: readFileSync(tls.key) }) });
      tlsConnect.push(performance.now() - t0);
    }
    for (let i = 0; i < RUNS; i += 1) {
      const id = `bench-pw-${i}`;
      const c = await provisionKiosk(id, { dataDir, gateway: `mqtt://127.0.0.1:${gateway.mqttPort}`, out: join(dir, id), lat: 43, lon: 76, address: "bench" });
      const pw = loadKioskConfig(c.configPath).mqtt.password;
      const t0 = performance.now();
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: id, username: id, password: pw, protocolVersion: 4, reconnectPeriod: 0 });
      passwordConnect.push(performance.now() - t0);
      await client.endAsync(true);
    }
    for (const { id, client } of clients) {
      // A random pause, so revocations do not fall in step with the gateway's poll.
      await new Promise((r) => setTimeout(r, Math.random() * config.security.revocationPollMs));
      const cut = new Promise<number>((resolve) => client.once("close", () => resolve(performance.now())));
      await revokeKiosk(id, { dataDir });
      const t0 = performance.now();
      revoke.push((await cut) - t0);
    }
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`bench:security, ${RUNS} runs each, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}\n\n`);
  process.stdout.write("| what                                 |  p50 ms |  p99 ms |  max ms |\n|--------------------------------------|---------|---------|---------|\n");
  for (const line of [
    row("enrol (key, CSR, HTTPS, issue)", enrol),
    row("connect, mutual TLS → CONNACK", tlsConnect),
    row("connect, password (scrypt) → CONNACK", passwordConnect),
    row("revoke written → live session cut", revoke),
  ])
    process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:security failed: ${String(err)}\n`);
  process.exit(1);
});

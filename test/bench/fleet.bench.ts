/**
 * npm run bench:fleet — one gateway process supervising a growing fleet: its RSS and CPU, and press →
 * dispatch latency measured meanwhile. The gateway is the real `sos gateway`; the fleet runs in child
 * processes (real MQTT connections, a heartbeat from each every 10 s by default); this process holds
 * the pressing kiosk agent and the dispatch receiver (one clock at both ends) and reads the gateway's
 * own /metrics (process_resident_memory_bytes, process_cpu_seconds_total, sos_kiosks, heartbeats).
 * Options (env): BENCH_FLEET_LEVELS (default 1000,5000,10000), BENCH_FLEET_MEASURE_S (default 30),
 * BENCH_FLEET_INTERVAL_S (heartbeat interval, default 10), BENCH_FLEET_PRESS_MS (default 250). With
 * `-- --store postgres://…` the same run measures the gateway on SQLite and then on that (fresh)
 * PostgreSQL database.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { type BenchStore, benchStores, percentile, provisionFleet, sorted, storeArgs, waitLine, startBenchKiosk } from "./lib.js";

const LEVELS = (process.env.BENCH_FLEET_LEVELS ?? "1000,5000,10000").split(",").map(Number);
const MEASURE_S = Number(process.env.BENCH_FLEET_MEASURE_S ?? 30);
const INTERVAL_S = Number(process.env.BENCH_FLEET_INTERVAL_S ?? 10);
const PRESS_MS = Number(process.env.BENCH_FLEET_PRESS_MS ?? 250);
const here = import.meta.dirname;
const sosBin = resolve(here, "../../scripts/sos.js");
const SECRET = "bench-dispatch-secret-0123456789";
const FLEET_SECRET = "fleet-secret-not-for-production";

interface Scrape {
  readonly at: number;
  readonly rssBytes: number;
  readonly cpuSeconds: number;
  readonly online: number;
  readonly heartbeats: number;
}

async function scrape(httpPort: number): Promise<Scrape> {
  const families = parsePrometheusTextFormat(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  const get = (name: string, labels: Record<string, string> = {}): number => {
    const sample = families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return Number(sample?.value ?? Number.NaN);
  };
  return {
    at: performance.now(),
    rssBytes: get("process_resident_memory_bytes"),
    cpuSeconds: get("process_cpu_seconds_total"),
    online: get("sos_kiosks", { state: "online" }),
    heartbeats: get("sos_heartbeats_received_total", { result: "valid" }),
  };
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`, ""];
  for (const store of benchStores()) lines.push(`## ${store.name}`, "", await runOn(store), "");
  process.stdout.write(lines.join("\n"));
}

async function runOn(store: BenchStore): Promise<string> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-fleet-"));
  const gwDir = join(dir, "gateway");
  const children: ChildProcess[] = [];
  const receiver = await new DispatchReceiver().start();
  try {
    const max = Math.max(...LEVELS);
    await provisionFleet(gwDir, "fleet-", max, FLEET_SECRET, store.url);
    const gateway = spawn(
      process.execPath,
      [sosBin, "gateway", "--data-dir", gwDir, ...storeArgs(store), "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--connection-burst", "0", "--dispatch-url", receiver.url, "--log-level", "info"],
      { env: { ...process.env, SOS_DISPATCH_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(gateway);
    const ready = JSON.parse(await waitLine(gateway, (l) => l.includes('"gateway ready"'), "gateway")) as { mqttPort: number; httpPort: number };
    gateway.stdout?.resume();
    const mqttUrl = `mqtt://127.0.0.1:${ready.mqttPort}`;

    const { kiosk, button } = await startBenchKiosk(dir, gwDir, mqttUrl, store.url);
    const pressed = new Map<string, number>();
    kiosk.events.on("alert.recorded", "bench", (e) => pressed.set(e.alert.alertId, performance.now() - e.recordMs));
    let window: number[] | undefined;
    receiver.onRequest = (request) => {
      const t = pressed.get(request.body.alertId);
      if (t === undefined) return;
      pressed.delete(request.body.alertId);
      window?.push(performance.now() - t);
    };

    const rows: string[] = [];
    let connected = 0;
    for (const level of LEVELS) {
      const add = level - connected;
      const c0 = performance.now();
      if (add > 0) {
        const fleet = spawn(process.execPath, [join(here, "heartbeat-kiosks.js"), mqttUrl, String(connected), String(add), "fleet-", FLEET_SECRET, String(INTERVAL_S)], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        children.push(fleet);
        await waitLine(fleet, (l) => l.startsWith("ready"), "fleet");
        fleet.stdout?.resume();
      }
      const connectS = (performance.now() - c0) / 1_000;
      connected = level;
      // Every kiosk online at the gateway (+1: the pressing kiosk), and one full interval so all beat.
      const deadline = performance.now() + 120_000;
      while ((await scrape(ready.httpPort)).online < level + 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, INTERVAL_S * 1_000));

      window = [];
      const start = await scrape(ready.httpPort);
      let peakRss = start.rssBytes;
      const end = performance.now() + MEASURE_S * 1_000;
      let nextScrape = performance.now() + 5_000;
      while (performance.now() < end) {
        button.down();
        button.up();
        await new Promise((r) => setTimeout(r, PRESS_MS));
        if (performance.now() >= nextScrape) {
          peakRss = Math.max(peakRss, (await scrape(ready.httpPort)).rssBytes);
          nextScrape += 5_000;
        }
      }
      await new Promise((r) => setTimeout(r, 500)); // the last presses arrive
      const stop = await scrape(ready.httpPort);
      peakRss = Math.max(peakRss, stop.rssBytes);
      const latencies = sorted(window);
      window = undefined;
      const seconds = (stop.at - start.at) / 1_000;
      const cpuPct = ((stop.cpuSeconds - start.cpuSeconds) / seconds) * 100;
      const f = (n: number, d = 1): string => n.toFixed(d).padStart(8);
      rows.push(
        `| ${String(level).padStart(6)} | ${String(stop.online).padStart(6)} | ${f(connectS)} | ${f((stop.heartbeats - start.heartbeats) / seconds, 0)} | ${f(stop.rssBytes / 2 ** 20, 0)} | ${f(peakRss / 2 ** 20, 0)} | ${f(cpuPct)} | ${String(latencies.length).padStart(5)} | ${f(percentile(latencies, 50))} | ${f(percentile(latencies, 99))} |`,
      );
      process.stderr.write(`bench:fleet: ${store.name}: ${level} kiosks measured\n`);
    }
    await kiosk.stop();

    return [
      `bench:fleet on ${store.name} — heartbeats every ${INTERVAL_S} s, ${MEASURE_S} s measured per level, a press every ${PRESS_MS} ms, loopback (${((performance.now() - t0) / 1_000).toFixed(0)} s in all)`,
      "",
      "| kiosks | online | connect s | beats/s |  RSS MiB | peak MiB |   CPU %  | n     | disp p50 | disp p99 |",
      "|--------|--------|-----------|---------|----------|----------|----------|-------|----------|----------|",
      ...rows,
      "",
      "online: sos_kiosks{state=\"online\"} at the gateway at the end (the pressing kiosk included); connect s: to connect the kiosks added;",
      "CPU %: the gateway's process_cpu_seconds_total over the window (100 % = one core); disp: ms from the press to the dispatch receiver.",
    ].join("\n");
  } finally {
    for (const c of children.reverse()) c.kill("SIGTERM");
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:fleet failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

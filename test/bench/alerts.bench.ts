/**
 * npm run bench:alerts — press → dispatch latency with N idle kiosks connected, on loopback.
 * The gateway runs as its own process (the real `sos gateway`), the idle fleet in another, and this
 * process holds the pressing kiosk agent and the dispatch receiver, so both ends read one clock.
 * Options (env): BENCH_ALERTS (default 200), BENCH_IDLE (default 1000). With `-- --store postgres://…`
 * the same run measures the gateway on SQLite and then on that (fresh) PostgreSQL database.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { type BenchStore, benchStores, percentile, provisionFleet, storeArgs, waitLine, startBenchKiosk } from "./lib.js";

const ALERTS = Number(process.env.BENCH_ALERTS ?? 200);
const IDLE = Number(process.env.BENCH_IDLE ?? 1000);
const here = import.meta.dirname;
const sosBin = resolve(here, "../../scripts/sos.js");
const SECRET = "bench-dispatch-secret-0123456789";

interface Run {
  readonly text: string;
  readonly dispatchP50: number;
  readonly dispatchP99: number;
}

async function main(): Promise<void> {
  const runs: [BenchStore, Run][] = [];
  for (const store of benchStores()) runs.push([store, await runOn(store)]);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`, ""];
  for (const [store, run] of runs) lines.push(`## ${store.name}`, "", run.text, "");
  const sqlite = runs.find(([s]) => s.name === "SQLite")?.[1];
  const pg = runs.find(([s]) => s.name === "PostgreSQL")?.[1];
  if (sqlite !== undefined && pg !== undefined) {
    const ratio = pg.dispatchP99 / sqlite.dispatchP99;
    lines.push(`PostgreSQL dispatch p99 ${pg.dispatchP99.toFixed(1)} ms = ${ratio.toFixed(2)} × SQLite's ${sqlite.dispatchP99.toFixed(1)} ms (target <= 2 ×) -> ${ratio <= 2 ? "met" : "NOT met"}`, "");
  }
  process.stdout.write(lines.join("\n"));
}

async function runOn(store: BenchStore): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-"));
  const gwDir = join(dir, "gateway");
  const children: ChildProcess[] = [];
  const receiver = await new DispatchReceiver().start();
  try {
    // The idle fleet shares one secret (one scrypt hash), so provisioning 1 000 kiosks takes a second.
    const idleSecret = "idle-fleet-secret-not-for-production";
    await provisionFleet(gwDir, "idle-", IDLE, idleSecret, store.url);

    const gateway = spawn(
      process.execPath,
      [sosBin, "gateway", "--data-dir", gwDir, ...storeArgs(store), "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--connection-burst", "0", "--dispatch-url", receiver.url, "--log-level", "info"],
      { env: { ...process.env, SOS_DISPATCH_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(gateway);
    const ready = JSON.parse(await waitLine(gateway, (l) => l.includes('"gateway ready"'), "gateway")) as { mqttPort: number };
    const mqttUrl = `mqtt://127.0.0.1:${ready.mqttPort}`;
    gateway.stdout?.resume();

    const t0 = performance.now();
    const idle = spawn(process.execPath, [join(here, "idle-kiosks.js"), mqttUrl, String(IDLE), "idle-", idleSecret], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(idle);
    if (IDLE > 0) await waitLine(idle, (l) => l.startsWith("ready"), "idle kiosks");
    const connectSeconds = (performance.now() - t0) / 1000;

    const { kiosk, button } = await startBenchKiosk(dir, gwDir, mqttUrl, store.url);

    const pressed = new Map<string, number>();
    const recordMs: number[] = [];
    const ackMs: number[] = [];
    const dispatchMs: number[] = [];
    kiosk.events.on("alert.recorded", "bench", (e) => {
      pressed.set(e.alert.alertId, performance.now() - e.recordMs);
      recordMs.push(e.recordMs);
    });
    kiosk.events.on("alert.acked", "bench", (e) => {
      const t = pressed.get(e.alertId);
      if (t !== undefined) ackMs.push(performance.now() - t);
    });
    let delivered: (() => void) | undefined;
    const dispatched = new Set<string>();
    receiver.onRequest = (request) => {
      const t = pressed.get(request.body.alertId);
      if (t === undefined || dispatched.has(request.body.alertId)) return;
      dispatched.add(request.body.alertId);
      dispatchMs.push(performance.now() - t);
      delivered?.();
    };

    for (let i = 0; i < ALERTS; i += 1) {
      const done = new Promise<void>((r) => {
        delivered = r;
      });
      button.down();
      button.up();
      await done;
      await new Promise((r) => setTimeout(r, 5));
    }
    await kiosk.stop();

    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    const row = (name: string, xs: number[]): string => {
      const s = sorted(xs);
      const f = (n: number): string => n.toFixed(1).padStart(8);
      return `| ${name.padEnd(24)} | ${String(s.length).padStart(5)} | ${f(percentile(s, 50))} | ${f(percentile(s, 99))} | ${f(s[s.length - 1] ?? Number.NaN)} |`;
    };
    const dispatchP50 = percentile(sorted(dispatchMs), 50);
    const dispatchP99 = percentile(sorted(dispatchMs), 99);
    process.stderr.write(`bench:alerts: ${store.name} measured\n`);
    return {
      dispatchP50,
      dispatchP99,
      text: [
        `bench:alerts on ${store.name} — ${ALERTS} alerts, ${IDLE} idle kiosks connected (${connectSeconds.toFixed(1)} s to connect), loopback`,
        "",
        "| stage (ms since press)   |     n |      p50 |      p99 |      max |",
        "|--------------------------|-------|----------|----------|----------|",
        row("recorded on kiosk disk", recordMs),
        row("acknowledged to kiosk", ackMs),
        row("received by dispatch", dispatchMs),
        "",
        `target: dispatch p50 <= 10 ms, p99 <= 30 ms -> ${dispatchP50 <= 10 && dispatchP99 <= 30 ? "met" : "NOT met"}`,
      ].join("\n"),
    };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:alerts failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

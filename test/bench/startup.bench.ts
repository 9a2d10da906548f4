/**
 * npm run bench:startup — "the button works first": time from starting `sos kiosk` to the first press
 * being on disk, with no gateway reachable (the worst case for anything that waits on the network).
 * The press is written to the agent's stdin the moment the process is spawned; the agent reads it as
 * soon as the button is armed. Then the gateway's side of a restart: time from starting `sos gateway`
 * (a fresh data folder, with and without a CA) to its listeners open ("gateway ready"), since every
 * kiosk waits for that after a gateway restart. Options (env): BENCH_RUNS (default 10).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const sosBin = resolve(import.meta.dirname, "../../scripts/sos.js");

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function once(dir: string, port: number): Promise<{ armedMs: number; recordedMs: number }> {
  const config = join(dir, "kiosk.json");
  writeFileSync(
    config,
    JSON.stringify({
      version: 1,
      kioskId: "bench-kiosk",
      location: { lat: 43.2, lon: 76.9, address: "bench" },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, username: "bench-kiosk", password: "unused-password" },
      dataDir: join(dir, `data-${Math.random().toString(36).slice(2)}`),
      button: { driver: "stdin" },
      audio: { player: "none" },
    }),
  );
  const t0 = performance.now();
  const child = spawn(process.execPath, [sosBin, "kiosk", "--config", config], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.write("press\n");
  let armedMs = Number.NaN;
  const recordedMs = await new Promise<number>((resolveRecorded, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      if (line.includes('"button armed"')) armedMs = performance.now() - t0;
      if (line.includes('"alert recorded"')) resolveRecorded(performance.now() - t0);
    });
    child.once("exit", (code) => reject(new Error(`kiosk exited with ${code} before recording the press`)));
  });
  child.kill("SIGKILL");
  return { armedMs, recordedMs };
}

/** Spawn → "gateway ready" (logged once the MQTT, MQTT/TLS and HTTP listeners are open), in ms. */
async function gatewayOnce(dir: string, withCa: boolean): Promise<number> {
  const dataDir = join(dir, `gw-${Math.random().toString(36).slice(2)}`);
  if (withCa) {
    const ca = spawn(process.execPath, [sosBin, "ca", "init", "--data-dir", dataDir], { stdio: "ignore" });
    await new Promise((r) => ca.once("exit", r));
  }
  const t0 = performance.now();
  const args = ["gateway", "--data-dir", dataDir, "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--mqtts-host", "127.0.0.1", "--mqtts-port", "0", "--http-port", "0"];
  const child = spawn(process.execPath, [sosBin, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const readyMs = await new Promise<number>((resolveReady, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.includes('"gateway ready"')) resolveReady(performance.now() - t0);
    });
    child.once("exit", (code) => reject(new Error(`gateway exited with ${code} before it was ready`)));
  });
  child.kill("SIGKILL");
  return readyMs;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-startup-"));
  try {
    const port = await deadPort();
    const runs: { armedMs: number; recordedMs: number }[] = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await once(dir, port));
    const gatewayPlain: number[] = [];
    const gatewayCa: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      gatewayPlain.push(await gatewayOnce(dir, false));
      gatewayCa.push(await gatewayOnce(dir, true));
    }
    const stat = (xs: number[]): string => {
      const s = [...xs].sort((a, b) => a - b);
      const p50 = s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
      return `${p50.toFixed(0).padStart(6)} | ${(s.at(-1) ?? Number.NaN).toFixed(0).padStart(6)}`;
    };
    process.stdout.write(
      [
        `bench:startup — ${RUNS} cold starts of 'sos kiosk' (gateway unreachable, press written at spawn) and of 'sos gateway'`,
        `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`,
        "",
        "| ms from spawn             |    p50 |    max |",
        "|---------------------------|--------|--------|",
        `| button armed              | ${stat(runs.map((r) => r.armedMs))} |`,
        `| press recorded on disk    | ${stat(runs.map((r) => r.recordedMs))} |`,
        `| gateway listening         | ${stat(gatewayPlain)} |`,
        `| gateway listening, CA     | ${stat(gatewayCa)} |`,
        "",
        `target: press on disk within 1000 ms of start -> ${Math.max(...runs.map((r) => r.recordedMs)) <= 1000 ? "met" : "NOT met"}`,
        "gateway listening: 'sos gateway' spawn to its \"gateway ready\" line (MQTT, MQTT/TLS and HTTP listeners open), fresh data folder; CA: after 'sos ca init'",
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

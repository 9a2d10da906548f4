/**
 * The dispatch part of `npm run bench:recovery`: the real gateway process (`sos gateway`) dispatches
 * to a port where nothing listens while one kiosk agent raises `alerts` SOS alarms; after `outageMs`
 * a real dispatch receiver starts on that port. Measured: from the receiver listening to each alert's
 * first arrival (p50/max), and how far the arrival order is from the raising order.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { percentile, sorted, startBenchKiosk, waitLine } from "./lib.js";

export interface DispatchRecoveryOptions {
  /** SOS alerts raised during the outage (default 50). */
  readonly alerts?: number;
  /** How long nothing listens at the dispatch URL (default 60 s). */
  readonly outageMs?: number;
  readonly progress?: (line: string) => void;
}

export interface DispatchRecoveryResult {
  readonly alerts: number;
  readonly outageMs: number;
  readonly delivered: number;
  /** ms from the receiver listening to each alert's first arrival. */
  readonly p50Ms: number;
  readonly maxMs: number;
  /** Whether the oldest alert arrived first (it is the probe that finds dispatch answering). */
  readonly oldestFirst: boolean;
  /** The most places an alert arrived away from its place in raising order (sends run dispatch.concurrency at a time). */
  readonly maxDisplacement: number;
}

const SECRET = "bench-dispatch-secret-0123456789";
const sosBin = resolve(import.meta.dirname, "../../scripts/sos.js");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function benchDispatchRecovery(options: DispatchRecoveryOptions = {}): Promise<DispatchRecoveryResult> {
  const count = options.alerts ?? 50;
  const outageMs = options.outageMs ?? 60_000;
  const progress = options.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-recovery-dispatch-"));
  const gwDir = join(dir, "gateway");
  const port = await freePort();
  const receiver = new DispatchReceiver();
  let gw: ChildProcess | undefined;
  let stopKiosk: (() => Promise<void>) | undefined;
  try {
    gw = spawn(
      process.execPath,
      [sosBin, "gateway", "--data-dir", gwDir, "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--dispatch-url", `http://127.0.0.1:${port}/incidents`, "--log-level", "info"],
      { env: { ...process.env, SOS_DISPATCH_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
    );
    const ready = JSON.parse(await waitLine(gw, (l) => l.includes('"gateway ready"'), "gateway")) as { mqttPort: number };
    gw.stdout?.resume();
    const { kiosk, button } = await startBenchKiosk(dir, gwDir, `mqtt://127.0.0.1:${ready.mqttPort}`);
    stopKiosk = () => kiosk.stop();
    const raised: string[] = [];
    kiosk.events.on("alert.recorded", "bench", (e) => raised.push(e.alert.alertId));
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      button.press();
      await sleep(Math.min(100, outageMs / (2 * count)));
    }
    await sleep(Math.max(0, outageMs - (performance.now() - started)));
    progress(`recovery-dispatch: ${raised.length} alerts waited ${outageMs} ms with nothing listening at dispatch`);

    const arrived = new Map<string, number>();
    receiver.onRequest = (request) => {
      if (!arrived.has(request.body.alertId)) arrived.set(request.body.alertId, performance.now());
    };
    await receiver.start(port);
    const up = performance.now();
    while (arrived.size < raised.length && performance.now() - up < 120_000) await sleep(20);
    const times = sorted([...arrived.values()].map((t) => t - up));
    const order = [...arrived.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    return {
      alerts: raised.length,
      outageMs,
      delivered: arrived.size,
      p50Ms: percentile(times, 50),
      maxMs: times.at(-1) ?? Number.NaN,
      oldestFirst: order[0] === raised[0],
      maxDisplacement: Math.max(0, ...order.map((id, i) => Math.abs(raised.indexOf(id) - i))),
    };
  } finally {
    await stopKiosk?.();
    gw?.kill("SIGTERM");
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Recovery after a broken kiosk link: heal → dispatch, for (1) a cut (connections reset and refused,
 * as when the cellular link is gone) and (2) a blackhole (sockets stay open, every byte is dropped:
 * the kiosks must notice by themselves, then the blackholed connections stay dead).
 *
 * Real processes and parts: the gateway is the built `sos gateway` (its own process, default
 * connection limits: every kiosk comes from 127.0.0.1, as behind one CGNAT address); N real kiosk
 * agents in this process (production link timings: keepalive, reconnect policy, resend), each
 * connected through one TCP proxy; a real HTTP dispatch receiver here too, so press, heal and
 * dispatch are read on one clock. During each outage every kiosk's button is pressed once, at a
 * random moment after the kiosks' idle backoff has grown; the numbers are from the heal to each
 * alert at dispatch, and to each kiosk's link being up again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { createLogger } from "../../shared/log.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { type ProxyFault, TcpProxy } from "../fixtures/tcp-proxy.js";
import { percentile, provisionFleet, sorted, waitLine } from "./lib.js";

export interface LinkRecoveryOptions {
  /** Kiosk agents (default 20). */
  readonly kiosks?: number;
  /** How long the cut lasts (default 20 s). */
  readonly cutMs?: number;
  /** How long the blackhole lasts (default 30 s: longer than the kiosks need to notice it). */
  readonly blackholeMs?: number;
  /** Progress lines (default: none). */
  readonly progress?: (line: string) => void;
}

export interface RecoveryPhase {
  readonly fault: ProxyFault;
  readonly outageMs: number;
  readonly alerts: number;
  /** Alerts at dispatch after the heal (every alert pressed during the outage, when all went well). */
  readonly delivered: number;
  /** ms from the heal to each alert's first arrival at dispatch. */
  readonly dispatchP50Ms: number;
  readonly dispatchMaxMs: number;
  /** ms from the heal to each kiosk's link being up again. */
  readonly reconnectP50Ms: number;
  readonly reconnectMaxMs: number;
  /** Blackhole only: ms from the link going dark to each kiosk noticing (its link down). */
  readonly noticedP50Ms?: number;
  readonly noticedMaxMs?: number;
}

export interface LinkRecoveryResult {
  readonly kiosks: number;
  readonly cut: RecoveryPhase;
  readonly blackhole: RecoveryPhase;
}

const SECRET = "bench-dispatch-secret-0123456789";
const FLEET_SECRET = "recovery-fleet-secret-not-for-production";
const sosBin = resolve(import.meta.dirname, "../../scripts/sos.js");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface BenchKiosk {
  readonly id: string;
  readonly handle: KioskHandle;
  readonly button: FakeButton;
  up: boolean;
  lastUpAt: number;
  /** Every link.down, in order. */
  readonly downs: number[];
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`recovery-link: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export async function benchLinkRecovery(options: LinkRecoveryOptions = {}): Promise<LinkRecoveryResult> {
  const count = options.kiosks ?? 20;
  const progress = options.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), "sos-bench-recovery-link-"));
  const gwDir = join(dir, "gateway");
  const children: ChildProcess[] = [];
  const kiosks: BenchKiosk[] = [];
  const receiver = await new DispatchReceiver().start();
  let proxy: TcpProxy | undefined;
  try {
    await provisionFleet(gwDir, "rec-", count, FLEET_SECRET);
    const gw = spawn(
      process.execPath,
      [sosBin, "gateway", "--data-dir", gwDir, "--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--dispatch-url", receiver.url, "--log-level", "info"],
      { env: { ...process.env, SOS_DISPATCH_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(gw);
    const ready = JSON.parse(await waitLine(gw, (l) => l.includes('"gateway ready"'), "gateway")) as { mqttPort: number };
    gw.stdout?.resume();
    proxy = new TcpProxy({ host: "127.0.0.1", port: ready.mqttPort });
    const url = await proxy.start();

    const pressedAt = new Map<string, number>();
    const arrivedAt = new Map<string, number>();
    receiver.onRequest = (request) => {
      if (!arrivedAt.has(request.body.alertId)) arrivedAt.set(request.body.alertId, performance.now());
    };
    const log = createLogger({ name: "kiosk", level: "error" });
    for (let i = 0; i < count; i += 1) {
      const id = `rec-${i}`;
      const config = parseKioskConfig({
        version: 1,
        kioskId: id,
        location: { lat: 43.24, lon: 76.89, address: "bench" },
        mqtt: { url, username: id, password: FLEET_SECRET },
        dataDir: join(dir, "kiosks", id),
        press: { debounceMs: 0, coalesceWhileOpen: false },
        audio: { player: "none" },
        log: { level: "error" },
      });
      const button = new FakeButton();
      const handle = await startKiosk(config, { log, button });
      const kiosk: BenchKiosk = { id, handle, button, up: false, lastUpAt: 0, downs: [] };
      handle.events.on("link.up", "bench", () => {
        kiosk.up = true;
        kiosk.lastUpAt = performance.now();
      });
      handle.events.on("link.down", "bench", () => {
        kiosk.up = false;
        kiosk.downs.push(performance.now());
      });
      handle.events.on("alert.recorded", "bench", (e) => pressedAt.set(e.alert.alertId, performance.now()));
      kiosks.push(kiosk);
    }
    await until(() => kiosks.every((k) => k.up), `${count} kiosks connected`, 60_000);
    progress(`recovery-link: ${count} kiosks connected through the proxy`);

    const phase = async (fault: ProxyFault, outageMs: number): Promise<RecoveryPhase> => {
      const p = proxy!;
      const alertsBefore = new Set(pressedAt.keys());
      const darkAt = performance.now();
      p.down(fault);
      // Presses at random moments in the outage's second half (the idle backoff has grown by then).
      const presses = kiosks.map(async (k) => {
        await sleep(outageMs / 2 + Math.random() * (outageMs / 2 - 500));
        k.button.press();
      });
      await sleep(outageMs);
      await Promise.all(presses);
      const healAt = performance.now();
      p.heal();
      const ids = [...pressedAt.keys()].filter((id) => !alertsBefore.has(id));
      await until(() => ids.every((id) => arrivedAt.has(id)) && kiosks.every((k) => k.up), `every ${fault} alert at dispatch`, 120_000);
      const dispatch = sorted(ids.map((id) => arrivedAt.get(id)! - healAt));
      const reconnect = sorted(kiosks.map((k) => k.lastUpAt - healAt));
      // The first time each kiosk saw its link down after it went dark (during the outage or after the heal).
      const noticed = kiosks.map((k) => (k.downs.find((t) => t >= darkAt) ?? Number.NaN) - darkAt);
      const noticedSorted = sorted(noticed.filter((n) => Number.isFinite(n)));
      progress(`recovery-link: ${fault} of ${outageMs} ms measured`);
      return {
        fault,
        outageMs,
        alerts: ids.length,
        delivered: ids.filter((id) => arrivedAt.has(id)).length,
        dispatchP50Ms: percentile(dispatch, 50),
        dispatchMaxMs: dispatch.at(-1) ?? Number.NaN,
        reconnectP50Ms: percentile(reconnect, 50),
        reconnectMaxMs: reconnect.at(-1) ?? Number.NaN,
        ...(fault === "blackhole" ? { noticedP50Ms: percentile(noticedSorted, 50), noticedMaxMs: noticedSorted.at(-1) ?? Number.NaN } : {}),
      };
    };

    const cut = await phase("cut", options.cutMs ?? 20_000);
    await sleep(2_000);
    const blackhole = await phase("blackhole", options.blackholeMs ?? 30_000);
    return { kiosks: count, cut, blackhole };
  } finally {
    await Promise.all(kiosks.map((k) => k.handle.stop().catch(() => undefined)));
    await proxy?.stop();
    for (const c of children.reverse()) c.kill("SIGTERM");
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The phase as one Markdown table row. */
export function recoveryRow(p: RecoveryPhase): string {
  const f = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? "–" : (n / 1_000).toFixed(2)).padStart(7);
  return `| ${p.fault.padEnd(9)} | ${String(p.outageMs / 1_000).padStart(6)} | ${`${p.delivered}/${p.alerts}`.padStart(7)} | ${f(p.dispatchP50Ms)} | ${f(p.dispatchMaxMs)} | ${f(p.reconnectP50Ms)} | ${f(p.reconnectMaxMs)} | ${f(p.noticedP50Ms)} | ${f(p.noticedMaxMs)} |`;
}

export const RECOVERY_HEADER = [
  "| link      | outage s | alerts  | heal→dispatch p50 s | max s   | heal→link up p50 s | max s   | dark→noticed p50 s | max s   |",
  "|-----------|--------|---------|---------|---------|---------|---------|---------|---------|",
];

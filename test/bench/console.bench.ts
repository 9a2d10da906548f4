/**
 * npm run bench:console — press → the alarm visible in the operator console's queue, over 20 alarms,
 * on loopback: real gateway, real kiosk agent (`sos kiosk`, stdin button: a 100 ms tap), Debian's
 * headless Chromium with the console logged in. Also the gateway's share: stored → visible (the
 * browser's clock against the alarm's receivedAt, same machine). Target: press → visible ≤ 1 s.
 * Needs chromium and ffmpeg (Debian). Options (env): BENCH_ALARMS (default 20).
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { startSystem } from "../e2e/browser-harness.js";
import { percentile, sorted } from "./lib.js";

const ALARMS = Number(process.env.BENCH_ALARMS ?? 20);

async function main(): Promise<void> {
  const system = await startSystem("kz-bench-0001");
  const { page, gateway } = system;
  const pressToVisible: number[] = [];
  const storedToVisible: number[] = [];
  try {
    for (let i = 0; i < ALARMS; i += 1) {
      for (const a of (await gateway.store.listAlerts()).filter((x) => x.closedAt === null)) {
        await gateway.closeAlarm({ alertId: a.alertId, outcome: "test", closedBy: "bench" });
      }
      await page.waitForFunction(`document.querySelectorAll('[data-testid="alarm"]').length === 0`, undefined, { timeout: 15_000 });
      await new Promise((r) => setTimeout(r, 500)); // the kiosk has heard the close
      const t0 = performance.now();
      await system.press();
      const handle = await page.waitForFunction(
        `(() => { const c = document.querySelector('[data-testid="alarm"]'); return c && c.offsetParent !== null ? { alertId: c.dataset.alertId, at: Date.now() } : false; })()`,
        undefined,
        { timeout: 10_000, polling: "raf" },
      );
      pressToVisible.push(performance.now() - t0);
      const { alertId, at } = (await handle.jsonValue()) as { alertId: string; at: number };
      const row = await gateway.store.getAlert(alertId);
      if (row !== undefined) storedToVisible.push(at - Date.parse(row.receivedAt));
    }
  } finally {
    await system.stop();
  }
  const line = (name: string, xs: number[]): string => {
    const s = sorted(xs);
    return `| ${name.padEnd(28)} | ${percentile(s, 50).toFixed(0).padStart(6)} | ${percentile(s, 95).toFixed(0).padStart(6)} | ${(s.at(-1) ?? Number.NaN).toFixed(0).padStart(6)} |`;
  };
  const p50 = percentile(sorted(pressToVisible), 50);
  const max = sorted(pressToVisible).at(-1) ?? Number.NaN;
  process.stdout.write(
    [
      `bench:console — ${pressToVisible.length} alarms, loopback, Chromium ${system.browser.version()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`,
      "",
      "| ms                           |    p50 |    p95 |    max |",
      "|------------------------------|--------|--------|--------|",
      line("press → alarm visible", pressToVisible),
      line("stored at gateway → visible", storedToVisible),
      "",
      `target: press → alarm visible <= 1000 ms (every alarm) -> ${max <= 1000 ? "met" : "NOT met"} (p50 ${p50.toFixed(0)} ms)`,
      "",
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:console failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

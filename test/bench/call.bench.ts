/**
 * npm run bench:call — press → first decoded video frame in the operator's browser, over 10 calls,
 * on loopback: real gateway, real kiosk agent (`sos kiosk`, wrtc media process on ffmpeg's test
 * source), Debian's headless Chromium with the operator page. The operator clicks Accept as soon as
 * the ring shows (a fast human takes longer; the figure is what the system adds).
 * Needs chromium and ffmpeg (Debian). Options (env): BENCH_CALLS (default 10).
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { startSystem, waitFor } from "../e2e/browser-harness.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 10);

async function main(): Promise<void> {
  const system = await startSystem("kz-bench-0001");
  const { page, gateway } = system;
  const rows: { ringMs: number; acceptToFrameMs: number; pressToFrameMs: number }[] = [];
  try {
    for (let i = 0; i < CALLS; i += 1) {
      for (const a of (await gateway.store.listAlerts()).filter((x) => x.closedAt === null)) {
        await gateway.closeAlarm({ alertId: a.alertId, outcome: "test", closedBy: "bench" });
      }
      await page.waitForFunction(`window.sosCall.state !== "connected" && window.sosCall.state !== "connecting"`, undefined, { timeout: 15_000 });
      await new Promise((r) => setTimeout(r, 500)); // the kiosk has heard the close
      const previousCallId = JSON.stringify(await page.evaluate(`window.sosCall.callId`));
      const before = await page.getByTestId("accept-call").count();
      const t0 = performance.now();
      await system.press();
      const accept = page.getByTestId("accept-call").first();
      await waitFor(async () => (await page.getByTestId("accept-call").count()) > before || (await accept.isVisible()), "ring", 15_000);
      await accept.waitFor({ state: "visible", timeout: 15_000 });
      const ringMs = performance.now() - t0;
      const tAccept = performance.now();
      await accept.click();
      await page.waitForFunction(
        // A frame of this call: a new callId, and its own peer connection's decoder.
        `(async () => { const pc = window.sosCall.pc; if (!pc || window.sosCall.callId === ${previousCallId} || pc.connectionState === "closed") return false; const s = await pc.getStats(); let f = 0; s.forEach((x) => { if (x.type === "inbound-rtp" && x.kind === "video") f = x.framesDecoded || 0; }); return f > 0; })()`,
        undefined,
        { timeout: 20_000, polling: 10 },
      );
      const now = performance.now();
      rows.push({ ringMs, acceptToFrameMs: now - tAccept, pressToFrameMs: now - t0 });
      await page.getByTestId("hangup").click();
    }
  } finally {
    await system.stop();
  }
  const stat = (xs: number[]): string => {
    const s = [...xs].sort((a, b) => a - b);
    const p50 = s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
    return `${p50.toFixed(0).padStart(6)} | ${(s.at(-1) ?? Number.NaN).toFixed(0).padStart(6)}`;
  };
  const pressToFrame = rows.map((r) => r.pressToFrameMs);
  process.stdout.write(
    [
      `bench:call — ${rows.length} calls, loopback, Chromium ${system.browser.version()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`,
      "",
      "| ms                          |    p50 |    max |",
      "|-----------------------------|--------|--------|",
      `| press → ring on the page    | ${stat(rows.map((r) => r.ringMs))} |`,
      `| accept → first video frame  | ${stat(rows.map((r) => r.acceptToFrameMs))} |`,
      `| press → first video frame   | ${stat(pressToFrame)} |`,
      "",
      `target: press → first decoded frame <= 1000 ms (p50) -> ${[...pressToFrame].sort((a, b) => a - b)[Math.floor((pressToFrame.length - 1) / 2)]! <= 1000 ? "met" : "NOT met"}`,
      "",
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:call failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

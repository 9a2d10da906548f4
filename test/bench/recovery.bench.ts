/**
 * npm run bench:recovery — how soon what was kept safe is delivered once the cause is gone:
 * heal → dispatch for a cut link and a blackholed link (kiosk agents through a TCP proxy), and
 * dispatch answering → backlog at dispatch after a dispatch outage.
 * Options (env): BENCH_RECOVERY_KIOSKS (default 20), BENCH_RECOVERY_CUT_S (60), BENCH_RECOVERY_BLACKHOLE_S (30),
 * BENCH_RECOVERY_DISPATCH_S (60), BENCH_RECOVERY_DISPATCH_ALERTS (50).
 */
import { cpus, totalmem } from "node:os";
import { benchDispatchRecovery } from "./recovery-dispatch.js";
import { benchLinkRecovery, RECOVERY_HEADER, recoveryRow } from "./recovery-link.js";

const kiosks = Number(process.env.BENCH_RECOVERY_KIOSKS ?? 20);
const cutMs = Number(process.env.BENCH_RECOVERY_CUT_S ?? 60) * 1_000;
const blackholeMs = Number(process.env.BENCH_RECOVERY_BLACKHOLE_S ?? 30) * 1_000;
const dispatchOutageMs = Number(process.env.BENCH_RECOVERY_DISPATCH_S ?? 60) * 1_000;
const dispatchAlerts = Number(process.env.BENCH_RECOVERY_DISPATCH_ALERTS ?? 50);
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const link = await benchLinkRecovery({ kiosks, cutMs, blackholeMs, progress });
  const dispatch = await benchDispatchRecovery({ alerts: dispatchAlerts, outageMs: dispatchOutageMs, progress });
  const s = (ms: number): string => (ms / 1_000).toFixed(2);
  process.stdout.write(
    [
      `bench:recovery — ${link.kiosks} kiosk agents through a TCP proxy to the gateway process, one press each during each outage, loopback`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      "",
      ...RECOVERY_HEADER,
      recoveryRow(link.cut),
      recoveryRow(link.blackhole),
      "",
      `target: alerts pressed during a cut at dispatch <= 5 s after the heal -> ${link.cut.dispatchMaxMs <= 5_000 ? "met" : "NOT met"}; a blackholed link noticed within 20 s -> ${(link.blackhole.noticedMaxMs ?? Infinity) <= 20_000 ? "met" : "NOT met"}`,
      "",
      "| dispatch outage s | alerts | delivered | dispatch answers→alert p50 s | max s | oldest first | max places out of order |",
      "|--------|--------|-----------|---------|---------|-----|-----|",
      `| ${dispatch.outageMs / 1_000} | ${dispatch.alerts} | ${dispatch.delivered} | ${s(dispatch.p50Ms)} | ${s(dispatch.maxMs)} | ${dispatch.oldestFirst ? "yes" : "no"} | ${dispatch.maxDisplacement} |`,
      "",
      `target: the backlog at dispatch <= 5 s after dispatch answers again -> ${dispatch.delivered === dispatch.alerts && dispatch.maxMs <= 5_000 ? "met" : "NOT met"}`,
      "",
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:recovery failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * The link part of `npm run bench:recovery` on its own: node dist/test/bench/recovery-link.bench.js
 * (after npm run build). Options (env): BENCH_RECOVERY_KIOSKS (default 20), BENCH_RECOVERY_CUT_S
 * (default 20), BENCH_RECOVERY_BLACKHOLE_S (default 30).
 */
import { cpus, totalmem } from "node:os";
import { benchLinkRecovery, RECOVERY_HEADER, recoveryRow } from "./recovery-link.js";

const kiosks = Number(process.env.BENCH_RECOVERY_KIOSKS ?? 20);
const cutMs = Number(process.env.BENCH_RECOVERY_CUT_S ?? 20) * 1_000;
const blackholeMs = Number(process.env.BENCH_RECOVERY_BLACKHOLE_S ?? 30) * 1_000;

benchLinkRecovery({ kiosks, cutMs, blackholeMs, progress: (line) => process.stderr.write(`${line}\n`) }).then(
  (result) => {
    process.stdout.write(
      [
        `bench:recovery (link) — ${result.kiosks} kiosk agents through a TCP proxy to the gateway process, one press each during each outage, loopback`,
        `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
        "",
        ...RECOVERY_HEADER,
        recoveryRow(result.cut),
        recoveryRow(result.blackhole),
        "",
        `target: an alert pressed during a cut at dispatch <= 5 s after the heal -> ${result.cut.dispatchMaxMs <= 5_000 ? "met" : "NOT met"}; a blackholed link noticed within 20 s -> ${(result.blackhole.noticedMaxMs ?? Infinity) <= 20_000 ? "met" : "NOT met"}`,
        "",
      ].join("\n"),
    );
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`bench:recovery (link) failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

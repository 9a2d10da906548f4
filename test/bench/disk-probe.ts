/**
 * How long this machine's disk takes to make a small write durable (write + fdatasync of 8 KiB, every
 * 50 ms, for a while): the floor under any latency that waits for a durable commit, as every alert
 * does (PostgreSQL's WAL flush before the gateway acknowledges and forwards it). Benchmarks print it
 * beside their figures: a p99 is not the gateway's when the disk alone takes longer now and then.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Spread, spread } from "./lib.js";

/** The probes' times (ms), and whether the probed folder is in memory (tmpfs: its figures say nothing of a disk). */
export interface DiskFloor extends Spread {
  readonly inMemory: boolean;
}

/** Probes the disk under `parent` for `ms` (its own file, removed after). */
export async function probeDisk(parent: string, ms: number): Promise<DiskFloor> {
  const dir = mkdtempSync(join(parent, "sos-disk-probe-"));
  const fd = openSync(join(dir, "probe"), "w");
  const page = Buffer.alloc(8_192, 1);
  const times: number[] = [];
  try {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const started = performance.now();
      writeSync(fd, page);
      fdatasyncSync(fd);
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  const TMPFS_MAGIC = 0x01021994;
  return { ...spread(times), inMemory: statfsSync(parent).type === TMPFS_MAGIC };
}

export const describeFloor = (f: DiskFloor): string =>
  `write + fdatasync of 8 KiB, ${f.n} probes: p50 ${f.p50.toFixed(1)} / p99 ${f.p99.toFixed(1)} / max ${f.max.toFixed(1)} ms` +
  (f.inMemory ? " (a tmpfs folder: memory, not a disk; set BENCH_DISK_PROBE_DIR to a folder on PostgreSQL's disk)" : "");

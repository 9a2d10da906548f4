/**
 * How long this machine's disk takes to make a small write durable (write + fdatasync of 8 KiB, every
 * 50 ms, for a while): the floor under any latency that waits for a durable commit, as every alert
 * does (PostgreSQL's WAL flush before the gateway acknowledges and forwards it). Benchmarks print it
 * beside their figures: a p99 is not the gateway's when the disk alone takes longer now and then.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { percentile, sorted } from "./lib.js";

export interface DiskFloor {
  /** The probed folder is in memory (tmpfs): its figures say nothing of a disk. */
  readonly inMemory: boolean;
  readonly probes: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
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
  const xs = sorted(times);
  const TMPFS_MAGIC = 0x01021994;
  return { inMemory: statfsSync(parent).type === TMPFS_MAGIC, probes: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.at(-1) ?? Number.NaN };
}

export const describeFloor = (f: DiskFloor): string =>
  `write + fdatasync of 8 KiB, ${f.probes} probes: p50 ${f.p50.toFixed(1)} / p99 ${f.p99.toFixed(1)} / max ${f.max.toFixed(1)} ms` +
  (f.inMemory ? " (a tmpfs folder: memory, not a disk; set BENCH_DISK_PROBE_DIR to a folder on PostgreSQL's disk)" : "");

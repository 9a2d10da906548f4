/**
 * How busy the whole machine was over a span (/proc/stat, read every second). On one machine the
 * bench's own load (the simulated fleet, the pressing agents, PostgreSQL, the proxy) shares the
 * cores with the gateway nodes: a tail or a failover measured while every core was busy says as much
 * about the machine as about the gateway. Printed beside the figures, as the disk's floor is.
 */
import { readFileSync } from "node:fs";

export interface CpuUse {
  /** Busy share of all cores over the span (0–100). */
  readonly meanPct: number;
  /** Whole seconds measured, and those in which the cores were at least SATURATED_PCT busy. */
  readonly seconds: number;
  readonly saturatedS: number;
}

const SATURATED_PCT = 95;

interface Ticks {
  readonly busy: number;
  readonly total: number;
}

/** The machine's CPU time so far (all cores), or undefined where there is no /proc/stat. */
function ticks(): Ticks | undefined {
  try {
    const first = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal (guest time is inside user)
    const fields = first.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, x) => sum + x, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

const busyPct = (from: Ticks, to: Ticks): number => (to.total > from.total ? (100 * (to.busy - from.busy)) / (to.total - from.total) : 0);

export class CpuMeter {
  private readonly first = ticks();
  private last = this.first;
  private readonly perSecond: number[] = [];
  private readonly timer = setInterval(() => this.tick(), 1_000);

  constructor() {
    this.timer.unref();
  }

  /** Ends the span: undefined where the machine cannot be read. */
  stop(): CpuUse | undefined {
    clearInterval(this.timer);
    const now = ticks();
    if (this.first === undefined || now === undefined) return undefined;
    return { meanPct: busyPct(this.first, now), seconds: this.perSecond.length, saturatedS: this.perSecond.filter((p) => p >= SATURATED_PCT).length };
  }

  private tick(): void {
    const now = ticks();
    if (now !== undefined && this.last !== undefined) this.perSecond.push(busyPct(this.last, now));
    this.last = now;
  }
}

export const describeCpu = (use: CpuUse | undefined): string =>
  use === undefined ? "not measured" : `${use.meanPct.toFixed(0)} % busy, ${use.saturatedS} of ${use.seconds} s at ≥ ${SATURATED_PCT} %`;

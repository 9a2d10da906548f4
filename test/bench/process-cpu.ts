/**
 * Who used the machine's CPU over a span: every process's CPU time (/proc/<pid>/stat, utime + stime)
 * read at the span's start and end, and the difference summed by what the process is (a gateway node
 * by its --node-id, PostgreSQL, Redis, the simulated fleet, the agents, the proxy…). Two reads of
 * /proc, no sampler: the bench's figures are not disturbed. A process that ran only inside the span
 * counts from zero; one that ended inside it is missing (the node killed at its start).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const HZ = 100;

/** What a process is, for the bench: its command line matched against the bench's own processes. */
function label(pid: string): string | undefined {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
  const node = / --node-id (\S+)/.exec(cmdline)?.[1];
  if (cmdline.includes("sos.js gateway")) return node ?? "gateway";
  if (cmdline.includes("cluster-kiosks.js") || cmdline.includes("heartbeat-kiosks.js")) return "simulated fleet";
  if (cmdline.includes("agents-process.js")) return "agents";
  if (cmdline.includes("tcp-proxy-process.js")) return "proxy";
  if (cmdline.includes("dispatch-receiver-process.js")) return "dispatch receiver";
  if (cmdline.includes(".bench.js")) return "bench";
  if (cmdline.startsWith("postgres")) return "postgres";
  if (cmdline.startsWith("redis-server")) return "redis";
  return "other";
}

/** pid → [label, CPU seconds so far]. */
function snapshot(): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The fields after the command (which may hold spaces) start after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / HZ;
      const what = label(pid);
      if (what !== undefined) out.set(pid, [what, seconds]);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

export class ProcessCpu {
  private readonly first = snapshot();

  /** CPU seconds used over the span by each kind of process, most first: "gw-b 1.2 s, postgres 0.9 s, …". */
  stop(): string {
    const used = new Map<string, number>();
    for (const [pid, [what, seconds]] of snapshot()) {
      const before = this.first.get(pid);
      const delta = seconds - (before !== undefined && before[0] === what ? before[1] : 0);
      if (delta > 0) used.set(what, (used.get(what) ?? 0) + delta);
    }
    const list = [...used].sort(([, a], [, b]) => b - a).filter(([, s]) => s >= 0.05);
    return list.length === 0 ? "not measured" : list.map(([what, s]) => `${what} ${s.toFixed(1)} s`).join(", ");
  }
}

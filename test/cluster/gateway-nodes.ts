/**
 * Gateway nodes as real processes (the built `sos gateway`, so `npm run build` first) on one
 * PostgreSQL store and one Redis, each on a fixed MQTT port of its own so that it can be killed
 * (SIGKILL: a crash; SIGTERM: a graceful stop) and started again where its kiosks look for it.
 * Used by the cluster tests and by bench:cluster.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DISPATCH_SECRET, freePort, spawnSos, type SosProcess } from "../integration/harness.js";

export interface NodeOptions {
  /** The PostgreSQL store every node shares. */
  readonly storeUrl: string;
  /** The Redis every node routes MQTT through (--cluster). */
  readonly redisUrl: string;
  readonly dispatchUrl: string;
  /** Each node's data folder is `<root>/<nodeId>`. */
  readonly root: string;
  /** More `sos gateway` arguments (e.g. --connection-burst 0, --log-level warn). */
  readonly extraArgs?: readonly string[];
  /**
   * Keep the node's log lines (off in benchmarks: 10 000 kiosks log a lot). Off, each process writes
   * them to `<root>/<nodeId>-<run>.log`, as a gateway in service writes to journald: never held up by
   * a busy reader.
   */
  readonly keepLogs?: boolean;
}

export class GatewayNode {
  private current: SosProcess | undefined;
  /** Every process this node has been, oldest first (their logs, for a failing test's message). */
  readonly runs: SosProcess[] = [];

  constructor(
    readonly nodeId: string,
    readonly mqttPort: number,
    private readonly options: NodeOptions,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  get dataDir(): string {
    return join(this.options.root, this.nodeId);
  }

  /** Whether a process of this node runs now. */
  get alive(): boolean {
    const child = this.current?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get process(): SosProcess | undefined {
    return this.current;
  }

  /** The HTTP port of the node's current process (from its "gateway ready" line; NaN before). */
  get httpPort(): number {
    return Number(this.current?.logLines().find((l) => l.msg === "gateway ready")?.httpPort);
  }

  /** The current process's /readyz status and cluster line, and the value of one /metrics gauge ("absent" if none). */
  async clusterReadiness(gauge: string): Promise<{ status: number; cluster: string; gauge: string }> {
    const base = `http://127.0.0.1:${this.httpPort}`;
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as { data: { cluster: string } };
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const value = metrics.split("\n").find((line) => line.startsWith(`${gauge} `))?.slice(gauge.length + 1);
    return { status: res.status, cluster: body.data.cluster, gauge: value ?? "absent" };
  }

  /** Starts the node's process and waits for "gateway ready". */
  async start(timeoutMs = 30_000): Promise<this> {
    const o = this.options;
    const args = [
      "gateway",
      "--data-dir", this.dataDir,
      "--store", o.storeUrl,
      "--cluster", o.redisUrl,
      "--node-id", this.nodeId,
      "--mqtt-host", "127.0.0.1",
      "--mqtt-port", String(this.mqttPort),
      "--http-host", "127.0.0.1",
      "--http-port", "0",
      "--dispatch-url", o.dispatchUrl,
      ...(o.extraArgs ?? []),
    ];
    mkdirSync(o.root, { recursive: true });
    const logFile = o.keepLogs === false ? join(o.root, `${this.nodeId}-${this.runs.length + 1}.log`) : undefined;
    const proc = spawnSos(args, { env: { SOS_DISPATCH_SECRET: DISPATCH_SECRET }, ...(logFile === undefined ? {} : { logFile }) });
    this.current = proc;
    this.runs.push(proc);
    await proc.waitForLog("gateway ready", timeoutMs);
    return this;
  }

  /** Sends the signal and waits for the process to exit; resolves with how it ended. */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const proc = this.current;
    if (proc === undefined) return { code: null, signal: null };
    if (this.alive) proc.child.kill(signal);
    return proc.exited;
  }

  /** Log lines (parsed JSON) with this msg, from every run of the node (from its log files when it writes to files). */
  logs(msg: string): Record<string, unknown>[] {
    return this.runs.flatMap((r) => r.logLines().filter((line) => line.msg === msg));
  }
}

/**
 * `count` nodes gw-a, gw-b, … on free ports, not started yet: the caller defers `stopAll(nodes)`
 * first, then `startAll(nodes)`.
 */
export async function makeGatewayNodes(count: number, options: NodeOptions): Promise<GatewayNode[]> {
  const nodes: GatewayNode[] = [];
  for (let i = 0; i < count; i += 1) nodes.push(new GatewayNode(`gw-${String.fromCharCode(97 + i)}`, await freePort(), options));
  return nodes;
}

/** Starts the nodes one after the other (the first creates the schema in the store). */
export async function startAll(nodes: readonly GatewayNode[]): Promise<void> {
  for (const node of nodes) await node.start();
}

/** SIGKILLs every node still running (tear-down). */
export async function stopAll(nodes: readonly GatewayNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
}

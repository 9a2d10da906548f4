/**
 * The parts of bench:cluster: the light fleet in child processes (cluster-kiosks.ts), steady-state
 * press → dispatch with real kiosk agents, and the time a fleet takes to leave a lost node.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setPriority } from "node:os";
import { createInterface, type Interface } from "node:readline";
import type { RemoteDispatchReceiver, RemoteRequest } from "./dispatch-receiver-process.js";
import type { Pressers } from "./agents-process.js";
import { stopChild, waitLine } from "./lib.js";

const here = import.meta.dirname;

export interface FleetStatus {
  readonly byPort: Record<string, number>;
  readonly down: number;
  readonly movedMs: number[];
  readonly noticedMs: number[];
  /** Connection attempts each moved kiosk took. */
  readonly tries: number[];
  /** Failed tries of the kiosks that lost the node, by "reason@port". */
  readonly failures: Record<string, number>;
  readonly waiting: number;
  readonly collateral: number;
  /** The fleet processes' own event-loop delay since `since`: the worst second, and seconds at 1 s or more (the worst child). */
  readonly lagMaxMs: number;
  readonly lagOver1s: number;
  /** The latest a fleet process ran a CONNACK timeout's timer, past its 10 s. */
  readonly lateTimerMaxMs: number;
}

/** The light simulated fleet: `total` kiosks in `children` processes, spread over `nodes` (base order). */
export class LightFleet {
  private readonly children: { child: ChildProcess; lines: Interface; queue: ((line: string) => void)[] }[] = [];

  constructor(
    private readonly nodes: readonly { host: string; port: number }[],
    private readonly keepaliveS: number,
    /** The fleet processes' CPU priority (nice): above 0, the gateways, PostgreSQL and Redis are served first on a shared machine. */
    private readonly nice = 0,
  ) {}

  async start(total: number, prefix: string, secret: string, children = 2): Promise<number> {
    const started = Date.now();
    const per = Math.ceil(total / children);
    await Promise.all(
      Array.from({ length: children }, async (_, c) => {
        const first = c * per;
        const count = Math.max(0, Math.min(per, total - first));
        const child = spawn(process.execPath, [`${here}/cluster-kiosks.js`, JSON.stringify(this.nodes), String(first), String(count), prefix, secret, String(this.keepaliveS)], { stdio: ["pipe", "pipe", "inherit"] });
        if (this.nice !== 0 && child.pid !== undefined) setPriority(child.pid, this.nice);
        await waitLine(child, (l) => l.startsWith("ready"), "cluster kiosks");
        const queue: ((line: string) => void)[] = [];
        const entry = { child, lines: createInterface({ input: child.stdout }), queue };
        entry.lines.on("line", (line) => entry.queue.shift()?.(line));
        this.children.push(entry);
      }),
    );
    return Date.now() - started;
  }

  /** Merged status of every child (see cluster-kiosks.ts), for the kiosks that lost node `port` since `since`. */
  async status(since: number, port = 0): Promise<FleetStatus> {
    const parts = await Promise.all(
      this.children.map(
        (c) =>
          new Promise<FleetStatus>((resolve) => {
            c.queue.push((line) => resolve(JSON.parse(line) as FleetStatus));
            c.child.stdin!.write(`status ${since} ${port}\n`);
          }),
      ),
    );
    const byPort: Record<string, number> = {};
    for (const p of parts) for (const [port, n] of Object.entries(p.byPort)) byPort[port] = (byPort[port] ?? 0) + n;
    const failures: Record<string, number> = {};
    for (const p of parts) for (const [why, n] of Object.entries(p.failures)) failures[why] = (failures[why] ?? 0) + n;
    return { byPort, failures, down: parts.reduce((s, p) => s + p.down, 0), movedMs: parts.flatMap((p) => p.movedMs), noticedMs: parts.flatMap((p) => p.noticedMs), tries: parts.flatMap((p) => p.tries), waiting: parts.reduce((s, p) => s + p.waiting, 0), collateral: parts.reduce((s, p) => s + p.collateral, 0), lagMaxMs: Math.max(...parts.map((p) => p.lagMaxMs)), lagOver1s: Math.max(...parts.map((p) => p.lagOver1s)), lateTimerMaxMs: Math.max(...parts.map((p) => p.lateTimerMaxMs)) };
  }

  /**
   * After a node is lost at `since` (its kiosks on `port`): waits until none is on that port and every
   * kiosk that dropped since then is connected again; returns how long each took to notice the loss
 * and to be connected again (ms after `since`).
   */
  async waitMoved(port: number, since: number, timeoutMs: number): Promise<{ moved: number[]; noticed: number[]; tries: number[]; failures: Record<string, number>; waiting: number; stillThere: number; collateral: number; lag: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status(since, port);
      const stillThere = s.byPort[String(port)] ?? 0;
      if ((stillThere === 0 && s.waiting === 0 && s.movedMs.length > 0) || Date.now() > deadline) return { moved: s.movedMs, noticed: s.noticedMs, tries: s.tries, failures: s.failures, waiting: s.waiting, stillThere, collateral: s.collateral, lag: `worst second ${s.lagMaxMs.toFixed(0)} ms, ${s.lagOver1s} s at ≥ 1 s, a CONNACK timer run up to ${s.lateTimerMaxMs} ms late` };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map(({ child }) => stopChild(child)));
  }
}

/** Each alert's first 2xx delivery at the receiver. */
function firstDeliveries(receiver: RemoteDispatchReceiver): Map<string, RemoteRequest> {
  const first = new Map<string, RemoteRequest>();
  for (const r of receiver.requests) if (r.status >= 200 && r.status < 300 && !first.has(r.body.alertId)) first.set(r.body.alertId, r);
  return first;
}

/** Press → dispatch (ms) for `ids`: the receiver's first 2xx for each, from the press's record time. */
export function pressToDispatch(fleet: Pick<Pressers, "pressed">, receiver: RemoteDispatchReceiver, ids: Iterable<string>): number[] {
  const first = firstDeliveries(receiver);
  return [...ids].flatMap((id) => {
    const at = first.get(id)?.at;
    const pressed = fleet.pressed.get(id);
    return at === undefined || pressed === undefined ? [] : [at - pressed];
  });
}

/**
 * Where a press's time went, for `ids`: press → the gateway taking the message (the body's
 * receivedAt: the agent, the link and the gateway's queue) and from there to the receiver (the
 * store, the claim and the POST). Same machine, same clock.
 */
export function pressSplit(fleet: Pick<Pressers, "pressed">, receiver: RemoteDispatchReceiver, ids: Iterable<string>): { toGateway: number[]; toDispatch: number[] } {
  const first = firstDeliveries(receiver);
  const toGateway: number[] = [];
  const toDispatch: number[] = [];
  for (const id of ids) {
    const r = first.get(id);
    const pressed = fleet.pressed.get(id);
    if (r === undefined || pressed === undefined) continue;
    const received = Date.parse(r.body.receivedAt);
    toGateway.push(received - pressed);
    toDispatch.push(r.at - received);
  }
  return { toGateway, toDispatch };
}

/** Presses for `ms` at about `perSecond` across the fleet; returns the alertIds pressed meanwhile. */
export async function pressFor(fleet: Pressers, ms: number, perSecond: number): Promise<Set<string>> {
  const before = new Set(fleet.pressed.keys());
  fleet.startPressing((fleet.count * 1_000) / perSecond);
  await new Promise((r) => setTimeout(r, ms));
  await fleet.stopPressing();
  return new Set([...fleet.pressed.keys()].filter((id) => !before.has(id)));
}

/** Presses once on each kiosk given and returns the alertIds those presses made. */
export async function pressEach(fleet: Pressers, kioskIds: readonly string[]): Promise<Set<string>> {
  const before = new Set(fleet.pressed.keys());
  await fleet.press(kioskIds);
  await new Promise((r) => setTimeout(r, 500));
  return new Set([...fleet.pressed.keys()].filter((id) => !before.has(id)));
}

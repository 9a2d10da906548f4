/**
 * The pressing kiosk agents of bench:cluster in processes of their own, as real kiosks are machines of
 * their own: each press and each ack is a synchronous fsync in an agent (a press is on disk before it is
 * sent), and twelve agents in the bench's process waited behind each other's (and the bench's own work).
 *
 * Run as a script with a JSON argument (StormFleet.start's): the agents start, then it prints "ready";
 * afterwards "p ALERTID AT" for each press recorded (AT: epoch ms, this process's clock, which is the
 * machine's) and "u KIOSKID 1 URL" / "u KIOSKID 0" as each connects or drops. Commands on stdin:
 * "every MS" (each kiosk presses about once per MS), "stop" (stops pressing; "ok" once the last press is
 * recorded), "press ID,ID" (those kiosks press now; "ok").
 * Imported: RemoteAgents, the parent's view of several such processes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { StoreTarget } from "../integration/harness.js";
import { StormFleet } from "../cluster/storm-fleet.js";
import { stopChild, waitLine } from "./lib.js";

interface StartArgs {
  readonly count: number;
  readonly store: StoreTarget;
  readonly urls: readonly string[];
  readonly bundleRoot: string;
  readonly prefix: string;
}

/** What the bench's phases need of the pressing agents (cluster-phases.ts). */
export interface Pressers {
  /** alertId → when its kiosk recorded the press (epoch ms). */
  readonly pressed: ReadonlyMap<string, number>;
  /** alertId → the kiosk that pressed it. */
  readonly pressedBy: ReadonlyMap<string, string>;
  readonly count: number;
  /** The kiosks connected to `url` now. */
  on(url: string): string[];
  startPressing(everyMs: number): void;
  stopPressing(): Promise<void>;
  press(kioskIds: readonly string[]): Promise<void>;
}

interface Child {
  readonly child: ChildProcess;
  readonly ids: Set<string>;
  readonly answers: (() => void)[];
}

export class RemoteAgents implements Pressers {
  readonly pressed = new Map<string, number>();
  readonly pressedBy = new Map<string, string>();
  private readonly children: Child[] = [];
  private readonly where = new Map<string, string | undefined>();
  count = 0;

  /** `count` agents `${prefix}${c}-NNNN` in `processes` processes; resolves when every one is connected. */
  async start(count: number, processes: number, store: StoreTarget, urls: readonly string[], bundleRoot: string, prefix: string): Promise<this> {
    const per = Math.ceil(count / processes);
    // One after the other: each provisions its kiosks in the store and the gateway's folder first.
    for (let c = 0; c * per < count; c += 1) {
      const n = Math.min(per, count - c * per);
      const args: StartArgs = { count: n, store, urls, bundleRoot: `${bundleRoot}-${c}`, prefix: `${prefix}${c}-` };
      const child = spawn(process.execPath, [import.meta.filename, JSON.stringify(args)], { stdio: ["pipe", "pipe", "inherit"] });
      const entry: Child = { child, ids: new Set(), answers: [] };
      this.children.push(entry);
      const ready = waitLine(child, (l) => l === "ready", "kiosk agents");
      createInterface({ input: child.stdout }).on("line", (line) => this.read(entry, line));
      await ready;
    }
    this.count = count;
    return this;
  }

  on(url: string): string[] {
    return [...this.where].filter(([, u]) => u === url).map(([id]) => id);
  }

  startPressing(everyMs: number): void {
    for (const c of this.children) c.child.stdin!.write(`every ${everyMs}\n`);
  }

  async stopPressing(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, "stop")));
  }

  async press(kioskIds: readonly string[]): Promise<void> {
    await Promise.all(
      this.children.map((c) => {
        const mine = kioskIds.filter((id) => c.ids.has(id));
        return mine.length === 0 ? Promise.resolve() : this.ask(c, `press ${mine.join(",")}`);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c.child)));
  }

  private ask(c: Child, command: string): Promise<void> {
    return new Promise((resolve) => {
      c.answers.push(resolve);
      c.child.stdin!.write(`${command}\n`);
    });
  }

  private read(c: Child, line: string): void {
    const [kind, a, b, d] = line.split(" ");
    if (kind === "p" && a !== undefined) {
      this.pressed.set(a, Number(b));
      if (d !== undefined) this.pressedBy.set(a, d);
    }
    else if (kind === "u" && a !== undefined) {
      c.ids.add(a);
      this.where.set(a, b === "1" ? d : undefined);
    } else if (kind === "ok") c.answers.shift()?.();
  }
}

async function main(args: StartArgs): Promise<void> {
  const fleet = await new StormFleet().start(args.count, args.store, args.urls, args.bundleRoot, args.prefix, "production");
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  for (const k of fleet.kiosks) {
    say(k.up && k.url !== undefined ? `u ${k.id} 1 ${k.url}` : `u ${k.id} 0`);
    k.kiosk.events.on("alert.recorded", "bench", ({ alert }) => say(`p ${alert.alertId} ${fleet.pressed.get(alert.alertId) ?? Date.now()} ${k.id}`));
    k.kiosk.events.on("link.up", "bench", () => say(`u ${k.id} 1 ${k.url ?? ""}`));
    k.kiosk.events.on("link.down", "bench", () => say(`u ${k.id} 0`));
  }
  say("ready");
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [verb, arg = ""] = line.split(" ");
    if (verb === "every") fleet.startPressing(Number(arg));
    else if (verb === "stop") void fleet.stopPressing().then(() => say("ok"));
    else if (verb === "press") {
      const ids = new Set(arg.split(","));
      for (const k of fleet.kiosks) if (ids.has(k.id)) k.kiosk.button.press();
      say("ok");
    }
  });
  process.on("SIGTERM", () => void fleet.stop().finally(() => process.exit(0)));
}

if (process.argv[1] === import.meta.filename) {
  main(JSON.parse(process.argv[2] ?? "{}") as StartArgs).catch((err: unknown) => {
    process.stderr.write(`kiosk agents: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

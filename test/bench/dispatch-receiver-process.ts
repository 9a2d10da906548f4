/**
 * The dispatch receiver of a benchmark in a process of its own, as a real dispatch centre is: the
 * bench's own process runs kiosk agents and the fleet's bookkeeping, and a receiver in it answered
 * (and stamped) the gateways' POSTs late whenever that process was busy, which the gateways' press →
 * dispatch time then carried.
 *
 * Run as a script: a real DispatchReceiver on an ephemeral port; prints "url URL", then one JSON
 * line per request answered ({ status, at, alertId, receivedAt }), stamped in this process.
 * Imported: RemoteDispatchReceiver, the parent's view of it with the receiver's own API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { DispatchBody } from "../../shared/dispatch.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { stopChild, waitLine } from "./lib.js";

interface Line {
  readonly status: number;
  readonly at: number;
  readonly alertId: string;
  readonly receivedAt: string;
}

/** What the bench reads of a request: its answer, when it was answered, and the body's ids. */
export interface RemoteRequest {
  readonly status: number;
  readonly at: number;
  readonly body: Pick<DispatchBody, "alertId" | "receivedAt">;
}

export class RemoteDispatchReceiver {
  readonly requests: RemoteRequest[] = [];
  private child: ChildProcess | undefined;
  url = "";

  async start(): Promise<this> {
    const child = spawn(process.execPath, [import.meta.filename], { stdio: ["ignore", "pipe", "inherit"] });
    this.child = child;
    this.url = (await waitLine(child, (l) => l.startsWith("url "), "dispatch receiver")).slice(4);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const r = JSON.parse(line) as Line;
      this.requests.push({ status: r.status, at: r.at, body: { alertId: r.alertId, receivedAt: r.receivedAt } });
    });
    return this;
  }

  /** Alert ids answered with a 2xx, each once (as DispatchReceiver.deliveredIds). */
  deliveredIds(): Set<string> {
    return new Set(this.requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.body.alertId));
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

async function main(): Promise<void> {
  const receiver = new DispatchReceiver();
  receiver.onRequest = (r) => process.stdout.write(`${JSON.stringify({ status: r.status, at: r.at, alertId: r.body.alertId, receivedAt: r.body.receivedAt })}\n`);
  await receiver.start();
  process.stdout.write(`url ${receiver.url}\n`);
  process.on("SIGTERM", () => void receiver.stop().finally(() => process.exit(0)));
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`dispatch receiver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

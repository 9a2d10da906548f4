/**
 * A TCP proxy of a benchmark in a process of its own, as the network in front of a real gateway is:
 * in the bench's process it carried a third of the simulated fleet's traffic (thousands of
 * heartbeats and pings a second) through the event loop the pressing kiosk agents share, which
 * every press then waited behind.
 *
 * Run as a script with the target's host and port: a real TcpProxy (../fixtures/tcp-proxy.ts) on an
 * ephemeral port; prints "url URL", then answers "ok" to each "down cut|blackhole" line on stdin.
 * Imported: RemoteTcpProxy, the parent's view of it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type ProxyFault, TcpProxy } from "../fixtures/tcp-proxy.js";
import { stopChild, waitLine } from "./lib.js";

export class RemoteTcpProxy {
  private child: ChildProcess | undefined;
  private readonly answers: (() => void)[] = [];

  constructor(private readonly target: { host: string; port: number }) {}

  /** Starts the proxy's process; resolves with the address to connect to (mqtt://host:port). */
  async start(): Promise<string> {
    const child = spawn(process.execPath, [import.meta.filename, this.target.host, String(this.target.port)], { stdio: ["pipe", "pipe", "inherit"] });
    this.child = child;
    const url = (await waitLine(child, (l) => l.startsWith("url "), "tcp proxy")).slice(4);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === "ok") this.answers.shift()?.();
    });
    return url;
  }

  /** Cuts or blackholes every connection through it; resolves once the proxy has done it. */
  down(fault: ProxyFault): Promise<void> {
    return new Promise((resolve) => {
      this.answers.push(resolve);
      this.child!.stdin!.write(`down ${fault}\n`);
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

async function main(host: string, port: number): Promise<void> {
  const proxy = new TcpProxy({ host, port });
  const url = await proxy.start();
  process.stdout.write(`url ${url}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [verb, fault] = line.split(" ");
    if (verb === "down" && (fault === "cut" || fault === "blackhole")) {
      proxy.down(fault);
      process.stdout.write("ok\n");
    }
  });
  process.on("SIGTERM", () => void proxy.stop().finally(() => process.exit(0)));
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv[2] ?? "127.0.0.1", Number(process.argv[3])).catch((err: unknown) => {
    process.stderr.write(`tcp proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

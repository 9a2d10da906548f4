/**
 * Raw TCP clients of the gateway's HTTP port, for the tests that misbehave on purpose (silent,
 * trickling, many sockets, odd request lines), and a reader of one metric from /metrics.
 */
import { connect, type Socket } from "node:net";
import { waitFor } from "./harness.js";

export interface RawSocket {
  readonly socket: Socket;
  /** Everything the gateway sent so far. */
  received(): string;
  readonly closed: () => boolean;
  /** When it closed (Date.now()), once it has. */
  readonly closedAt: () => number | undefined;
  close(): void;
}

/** Opens a TCP connection to the HTTP port (from `localAddress`, any 127.x.y.z, when given); resolves once connected. */
export async function openRaw(port: number, localAddress?: string): Promise<RawSocket> {
  const socket = connect({ port, host: "127.0.0.1", ...(localAddress === undefined ? {} : { localAddress }) });
  let data = "";
  let closedAt: number | undefined;
  socket.on("data", (d: Buffer) => (data += d.toString("latin1")));
  socket.on("error", () => undefined);
  socket.on("close", () => (closedAt = Date.now()));
  await new Promise<void>((resolve) => {
    socket.once("connect", () => resolve());
    socket.once("close", () => resolve());
  });
  return { socket, received: () => data, closed: () => closedAt !== undefined, closedAt: () => closedAt, close: () => socket.destroy() };
}

/** Sends one raw request and resolves with the status line's code once the gateway answers (or closes). */
export async function rawStatus(port: number, request: string): Promise<number | "closed"> {
  const raw = await openRaw(port);
  raw.socket.write(request, "latin1");
  try {
    await waitFor(() => /^HTTP\/1\.1 \d{3}/.test(raw.received()) || raw.closed(), `an answer to ${JSON.stringify(request.slice(0, 60))}`, 10_000);
  } finally {
    raw.close();
  }
  const code = /^HTTP\/1\.1 (\d{3})/.exec(raw.received())?.[1];
  return code === undefined ? "closed" : Number(code);
}

/** One sample of a metric from GET /metrics (the test runs on loopback). */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers })).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.split(" ").pop());
  }
  throw new Error(`no ${name} ${JSON.stringify(labels)} in /metrics`);
}

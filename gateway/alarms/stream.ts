/**
 * Server-sent events for the console (GET /api/events): `alarm` (an AlarmView after any step),
 * `kiosk` (a FleetKiosk whose state or failing parts changed), `heartbeats` ({ kiosks: [{ kioskId,
 * lastHeartbeatAt }] }, at most every 15 s, only the kiosks that beat since the last one). One-way, plain HTTP, reconnected by the
 * browser's EventSource on its own; the page reloads the lists after each (re)connect.
 */
import type { ServerResponse } from "node:http";

const KEEPALIVE_MS = 20_000;
/** A page that reads slower than this much backlog is dropped (it reconnects and reloads). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private keepalive: NodeJS.Timeout | undefined;

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // nginx: do not buffer the stream
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n: connected\n\n");
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    this.keepalive ??= setInterval(() => this.write(": keepalive\n\n"), KEEPALIVE_MS);
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  stop(): void {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        this.clients.delete(res);
        continue;
      }
      res.write(chunk);
    }
  }
}

/**
 * Server-sent events for the console (GET /api/events): `alarm` (an AlarmView after any step),
 * `kiosk` (a FleetKiosk whose state or failing parts changed), `heartbeats` ({ kiosks: [{ kioskId,
 * lastHeartbeatAt }] }, at most every 15 s, only the kiosks that beat since the last one), `dispatch`
 * ({ state: "unreachable", since, lastError } or { state: "ok" }: the page's banner; a page that
 * connects while dispatch is unreachable is told at once, see `greet`), `ping` (every KEEPALIVE_MS: the
 * page's watchdog). One-way, plain HTTP, reconnected by the
 * browser's EventSource on its own; the page reloads the lists after each (re)connect.
 *
 * Each stream belongs to the session that opened it: when the session ends (logout, expiry, a newer
 * login past the per-operator cap, the operator removed or changed) its streams are ended too, and
 * the browser's reconnect gets 401 (an EventSource stops for good on a non-200 answer).
 */
import type { ServerResponse } from "node:http";

/**
 * Every this often each stream gets a `ping` event (an event, not an SSE comment: the page's
 * EventSource sees events only), so a page can tell a silent link from a quiet night: the console
 * counts its stream lost after 15 s (three of these) without a word (event-feed.js).
 */
export const KEEPALIVE_MS = 5_000;
/** A page that reads slower than this much backlog is dropped (it reconnects and reloads). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Where sessions end (operators/sessions.ts SessionStore). */
export interface StreamSessions {
  onEnded(listener: (ended: readonly { readonly idHash: string }[]) => void): void;
  isLive(key: string): boolean;
}

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  /** Each stream's session key. */
  private readonly owners = new Map<ServerResponse, string>();
  private sessions: StreamSessions | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private relay: ((event: string, data: unknown) => void) | undefined;
  private firstPage: (() => void) | undefined;
  private othersListen: () => boolean = () => false;
  private greeting: () => readonly { readonly event: string; readonly data: unknown }[] = () => [];

  /** Events every new stream gets first (the state a page must show from the start). */
  greet(events: () => readonly { readonly event: string; readonly data: unknown }[]): void {
    this.greeting = events;
  }

  /** Ends each stream with its session: at once when it is ended, by the next keepalive when it expires. */
  endWith(sessions: StreamSessions): void {
    this.sessions = sessions;
    sessions.onEnded((ended) => this.endSessions(ended.map((r) => r.idHash)));
  }

  /** Ends the streams of these sessions; returns how many. */
  endSessions(keys: readonly string[]): number {
    const ending = new Set(keys);
    let ended = 0;
    for (const [res, key] of this.owners) {
      if (!ending.has(key)) continue;
      this.drop(res);
      res.end();
      ended += 1;
    }
    return ended;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Opens a stream on `res`; `session`: the key of the session it belongs to (Session.key). */
  add(res: ServerResponse, session?: string): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // nginx: do not buffer the stream
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n: connected\n\n");
    for (const { event, data } of this.greeting()) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    this.clients.add(res);
    if (this.clients.size === 1) this.firstPage?.();
    if (session !== undefined) this.owners.set(res, session);
    res.on("close", () => this.drop(res));
    this.keepalive ??= setInterval(() => this.tick(), KEEPALIVE_MS);
  }

  /** Sends an event to this gateway's pages, and to the other nodes' (`relayTo`) for the events they relay. */
  send(event: string, data: unknown): void {
    this.relay?.(event, data);
    this.deliver(event, data);
  }

  /** Sends an event to the other nodes of a cluster only (`relayTo`), not to this gateway's pages. */
  tellOthers(event: string, data: unknown): void {
    this.relay?.(event, data);
  }

  /** An event from another node of the cluster (cluster/console-relay.ts): this gateway's pages only. */
  deliver(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Called when a page opens a stream while no other is open (a cluster node says it has pages). */
  onFirstPage(listener: () => void): void {
    this.firstPage = listener;
  }

  /**
   * Passes each event sent here to the other nodes too (a cluster); `othersListen`: whether another
   * node has pages now (cluster/console-relay.ts).
   */
  relayTo(relay: (event: string, data: unknown) => void, othersListen: () => boolean): void {
    this.relay = relay;
    this.othersListen = othersListen;
  }

  /** Whether anyone hears what is sent: a page here, or the pages of other nodes. */
  get listened(): boolean {
    return this.clients.size > 0 || this.othersListen();
  }

  stop(): void {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.owners.clear();
  }

  private tick(): void {
    const sessions = this.sessions;
    if (sessions !== undefined) {
      const expired = [...new Set(this.owners.values())].filter((key) => !sessions.isLive(key));
      if (expired.length > 0) this.endSessions(expired);
    }
    this.write(`event: ping\ndata: {"at":${Date.now()}}\n\n`);
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    this.owners.delete(res);
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        this.drop(res);
        continue;
      }
      res.write(chunk);
    }
  }
}

/* global navigator, BroadcastChannel, EventSource, AbortController, setTimeout, clearTimeout */
/**
 * The console's event stream (GET /api/events), shared by the tabs of one browser. Browsers allow six
 * HTTP/1.1 connections per host and a stream holds one for good: a seventh console tab (an engineer
 * opening kiosk pages in tabs) would wait forever for every request. So one tab, the holder of the Web
 * Lock "sos-console-events", opens the stream and relays its events to the other tabs over a
 * BroadcastChannel; when that tab closes, the next one takes the lock and opens the stream. Without
 * Web Locks (plain http:// to a host other than localhost is not a secure context) every tab opens its own.
 *
 * Handlers: onOpen() the stream (re)connected, reload the lists; onEvent(type, data) for `alarm`,
 * `kiosk`, `heartbeats`, `dispatch`; onStatus("live" | "connecting" | "down"); onRefused() the stream was refused
 * for good (a 401 or a proxy's 502): check the session; it is reopened after 1 s, doubling to 30 s.
 *
 * A link can die without closing (a pulled cable past a switch, a NAT that forgot us): the stream then
 * stays "open" and silent. The gateway sends a `ping` every 5 s (gateway/alarms/stream.ts); a stream
 * that says nothing for SILENT_MS (or does not open within it) is counted lost: closed, shown as
 * "connecting", and opened again.
 */
const NAME = "sos-console-events";
const EVENTS = ["alarm", "kiosk", "heartbeats", "dispatch"];
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Three of the gateway's 5 s pings. */
const SILENT_MS = 15_000;

export function createEventFeed({ onOpen, onEvent, onStatus, onRefused }) {
  const shared = typeof navigator !== "undefined" && navigator.locks !== undefined && typeof BroadcastChannel === "function";
  let wanted = false;
  let source = null;
  let status = "down";
  let retryMs = RETRY_MS;
  let retryTimer = null;
  let silentTimer = null;
  /** Tabs: the channel to the others; `release` is set while this tab holds the lock (it streams). */
  let channel = null;
  let release = null;
  let abort = null;
  /** A tab that does not stream loads the lists once it hears the stream is live. */
  let joined = false;

  const leading = () => !shared || release !== null;

  function setStatus(next) {
    status = next;
    onStatus(next);
    if (release !== null) channel?.postMessage({ type: "status", status: next });
  }

  function emit(type, data) {
    if (type === "open") onOpen();
    else onEvent(type, data);
    if (release !== null) channel?.postMessage({ type, data });
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    source?.close();
    const s = new EventSource("/api/events");
    source = s;
    setStatus("connecting");
    // A stream that does not open within SILENT_MS (its request stuck on a dead link) is tried again.
    heardFrom(s);
    s.addEventListener("open", () => {
      retryMs = RETRY_MS;
      heardFrom(s);
      setStatus("live");
      emit("open");
    });
    for (const type of EVENTS) s.addEventListener(type, (event) => {
      heardFrom(s);
      emit(type, JSON.parse(event.data));
    });
    s.addEventListener("ping", () => heardFrom(s));
    s.addEventListener("error", () => {
      if (source !== s) return;
      clearTimeout(silentTimer);
      // EventSource reconnects by itself after a dropped connection; a non-200 answer closes it for good.
      if (s.readyState !== EventSource.CLOSED) return setStatus("connecting");
      setStatus("down");
      void Promise.resolve(onRefused()).then(() => reconnectLater());
    });
  }

  /** The stream `s` spoke: it is counted lost if it says nothing more for SILENT_MS. */
  function heardFrom(s) {
    clearTimeout(silentTimer);
    silentTimer = setTimeout(() => {
      if (source !== s || !wanted) return;
      // Silent: the link is dead though no one closed it. Open a new stream (shown as "connecting"
      // until it opens: a link still dead keeps the page saying so).
      connect();
    }, SILENT_MS);
  }

  function reconnectLater() {
    if (!wanted || retryTimer !== null || !leading()) return;
    const wait = retryMs * (0.75 + Math.random() * 0.5);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (wanted && leading()) connect();
    }, wait);
  }

  function heard({ data: m }) {
    if (release !== null) {
      // A tab that just opened asks how the stream is.
      if (m.type === "hello") channel?.postMessage({ type: "status", status });
      return;
    }
    if (m.type === "status") {
      status = m.status;
      onStatus(m.status);
      if (!joined && m.status === "live") {
        joined = true;
        onOpen();
      }
    } else if (m.type === "open") {
      joined = true;
      onOpen();
    } else if (EVENTS.includes(m.type)) {
      onEvent(m.type, m.data);
    }
  }

  function open() {
    wanted = true;
    if (leading()) return connect();
    if (channel !== null) return undefined; // waiting for the lock, hearing the stream from another tab
    channel = new BroadcastChannel(NAME);
    channel.onmessage = heard;
    joined = false;
    status = "connecting";
    onStatus("connecting");
    channel.postMessage({ type: "hello" });
    const controller = new AbortController();
    abort = controller;
    navigator.locks
      .request(NAME, { signal: controller.signal }, () => {
        if (!wanted || abort !== controller) return undefined;
        return new Promise((resolve) => {
          release = resolve;
          connect();
        });
      })
      .catch(() => undefined); // aborted by close() while waiting
    return undefined;
  }

  function close() {
    wanted = false;
    clearTimeout(silentTimer);
    clearTimeout(retryTimer);
    retryTimer = null;
    source?.close();
    source = null;
    abort?.abort();
    abort = null;
    const held = release;
    release = null;
    held?.();
    channel?.close();
    channel = null;
    status = "down";
    onStatus("down");
  }

  return { open, close, get shared() { return shared; }, get streaming() { return source !== null && leading(); } };
}

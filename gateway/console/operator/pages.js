/* global window, document, location, EventSource, setTimeout, clearTimeout */
/**
 * The console's live data and pages: the event stream (alarms with their lifecycle, kiosks of the
 * fleet), acknowledge and close, and the pages #/alarms, #/fleet, #/kiosk/<id>, #/alarm/<id>.
 */
import { renderAlarm, renderKiosk } from "./fleet.js";

const $ = (id) => document.getElementById(id);
const STREAM_RETRY_MS = 1_000;
const STREAM_RETRY_MAX_MS = 30_000;

/** @param {{ api: Function, alarms: import("./alarms.js").AlarmList, fleet: import("./fleet.js").Fleet, ringer: { update(): void }, checkSession: () => Promise<void> }} deps */
export function createPages({ api, alarms, fleet, ringer, checkSession, onStreamStatus = () => undefined }) {
  let events = null;
  /** The stream should be open (logged in); a failed one is reopened after `retryMs` (doubling, at most 30 s). */
  let wanted = false;
  let retryMs = STREAM_RETRY_MS;
  let retryTimer = null;

  /** The queue from the server replaces the cards: one not in it was closed while we were not listening. */
  async function loadAlarms() {
    // Cards that arrive while the request is under way are newer than its answer: kept.
    const before = new Set(alarms.cards.keys());
    const { status, body } = await api("/api/alarm-queue").catch(() => ({ status: 0, body: null }));
    if (status !== 200) return;
    const open = new Set(body.data.alarms.map((a) => a.alertId));
    // A card whose kiosk is ringing stays (a ring without an alarm id has a card of its own).
    for (const alertId of before) if (!open.has(alertId) && alarms.cards.get(alertId)?.node.dataset.ringing !== "true") alarms.remove(alertId);
    for (const alarm of body.data.alarms) alarms.upsert(alarm);
    ringer.update();
  }

  /**
   * Fetches one alarm into its card (a ring for an alarm this page has not seen). Returns "closed"
   * when it is closed (its card is removed), "open", or "unknown".
   */
  async function refreshAlarm(alertId) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}`).catch(() => ({ status: 0, body: null }));
    if (status !== 200) return "unknown";
    if (body.data.status === "closed" || body.data.closedAt) {
      alarms.remove(alertId);
      ringer.update();
      return "closed";
    }
    if (alarms.cards.has(alertId)) alarms.upsert(body.data);
    return "open";
  }

  /** A 409 ALARM_CLOSED: someone else closed it; the card goes. */
  function closedElsewhere(alertId, status, body) {
    if (status !== 409 || body?.error?.code !== "ALARM_CLOSED") return false;
    alarms.remove(alertId);
    ringer.update();
    return true;
  }

  async function loadFleet() {
    const { status, body } = await api("/api/fleet").catch(() => ({ status: 0, body: null }));
    if (status === 200) fleet.load(body.data.kiosks);
  }

  function closeEvents() {
    wanted = false;
    clearTimeout(retryTimer);
    retryTimer = null;
    events?.close();
    events = null;
    onStreamStatus("down");
  }

  /** The browser gives up on a stream for good after a non-200 answer (a proxy's 502): reopen it later. */
  function reopenLater() {
    if (!wanted || retryTimer !== null) return;
    const wait = retryMs * (0.75 + Math.random() * 0.5);
    retryMs = Math.min(retryMs * 2, STREAM_RETRY_MAX_MS);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (wanted) openEvents();
    }, wait);
  }

  function openEvents() {
    wanted = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    events?.close();
    const source = new EventSource("/api/events");
    events = source;
    onStreamStatus("connecting");
    source.addEventListener("open", () => {
      retryMs = STREAM_RETRY_MS;
      onStreamStatus("live");
      // Whatever happened while the stream was down: reload both lists.
      void loadAlarms();
      void loadFleet();
    });
    source.addEventListener("alarm", (event) => {
      const alarm = JSON.parse(event.data);
      const known = alarms.cards.has(alarm.alertId);
      alarms.upsert(alarm);
      if (!known && alarm.status !== "closed") ringer.update();
      if (currentRoute.view === "alarm" && currentRoute.id === alarm.alertId) renderAlarm($("view-alarm"), alarm);
    });
    source.addEventListener("kiosk", (event) => fleet.upsert(JSON.parse(event.data)));
    source.addEventListener("heartbeats", (event) => fleet.heartbeats(JSON.parse(event.data).kiosks ?? []));
    source.addEventListener("error", () => {
      if (events !== source) return;
      // EventSource reconnects by itself after a dropped connection; a non-200 answer closes it for
      // good: a 401 (session over) logs out, anything else (a proxy's 502) is retried with a backoff.
      if (source.readyState !== EventSource.CLOSED) {
        onStreamStatus("connecting");
        return;
      }
      onStreamStatus("down");
      void checkSession().then(() => reopenLater());
    });
  }

  async function acknowledge(alertId) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}/acknowledge`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => ({ status: 0, body: null }));
    if (status === 200) alarms.upsert({ alertId, acknowledgedBy: body.data.by, status: "acknowledged" });
    else closedElsewhere(alertId, status, body);
    ringer.update();
  }

  /** Returns why the close was refused ({ message, code }) for the card, or null when the alarm was closed. */
  async function closeAlarm(alertId, outcome, note, force = false) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}/close`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ outcome, ...(note.trim() === "" ? {} : { note: note.trim() }), ...(force ? { force: true } : {}) }),
    }).catch(() => ({ status: 0, body: null }));
    if (status === 200 || closedElsewhere(alertId, status, body)) {
      alarms.remove(alertId);
      ringer.update();
      return null;
    }
    return { message: body?.error?.message ?? `Could not close the alarm (HTTP ${status})`, code: body?.error?.code };
  }

  // --- pages: #/alarms, #/fleet, #/kiosk/<id>, #/alarm/<id> --------------------------------------
  let currentRoute = { view: "alarms", id: null };

  function parseRoute() {
    const [, view = "alarms", id = null] = location.hash.split("/");
    return { view: ["alarms", "fleet", "kiosk", "alarm"].includes(view) ? view : "alarms", id: id === null ? null : decodeURIComponent(id) };
  }

  async function route() {
    currentRoute = parseRoute();
    const { view, id } = currentRoute;
    for (const name of ["alarms", "fleet", "kiosk", "alarm"]) $(`view-${name}`).hidden = name !== view;
    fleet.setVisible(view === "fleet");
    for (const link of document.querySelectorAll("#nav a")) link.setAttribute("aria-current", String(link.dataset.view === view));
    if (view === "kiosk" && id !== null) {
      const { status, body } = await api(`/api/kiosks/${encodeURIComponent(id)}`).catch(() => ({ status: 0, body: null }));
      if (status === 200) renderKiosk($("view-kiosk"), body.data, fleet.points());
      else $("view-kiosk").textContent = `No kiosk ${id}.`;
    }
    if (view === "alarm" && id !== null) {
      const { status, body } = await api(`/api/alarms/${encodeURIComponent(id)}`).catch(() => ({ status: 0, body: null }));
      if (status === 200) renderAlarm($("view-alarm"), body.data);
      else $("view-alarm").textContent = `No alarm ${id}.`;
    }
  }

  window.addEventListener("hashchange", () => void route());

  return { openEvents, closeEvents, loadAlarms, refreshAlarm, route, acknowledge, closeAlarm };
}
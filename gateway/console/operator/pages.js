/* global window, document, location */
/**
 * The console's live data and pages: the event stream (alarms with their lifecycle, kiosks of the
 * fleet), acknowledge and close, and the pages #/alarms, #/fleet, #/kiosk/<id>, #/alarm/<id>.
 */
import { createEventFeed } from "./event-feed.js";
import { renderAlarm, renderKiosk, renderRollouts } from "./fleet.js";

const $ = (id) => document.getElementById(id);

/**
 * @param {{ api: Function, alarms: import("./alarms.js").AlarmList, fleet: import("./fleet.js").Fleet, ringer: { update(): void }, checkSession: () => Promise<void> }} deps
 * `onAlarmClosed(alertId)`: a card was dropped because its alarm is closed (its kiosk's rings go too).
 */
export function createPages({ api, alarms, fleet, ringer, checkSession, onStreamStatus = () => undefined, onAlarmClosed = () => undefined }) {
  /** The queue from the server replaces the cards: one not in it was closed while we were not listening. */
  async function loadAlarms() {
    // Cards that arrive while the request is under way are newer than its answer: kept. Alarms closed
    // while it is under way are older in it than the close: not shown again (AlarmList.upsert).
    const before = new Set(alarms.cards.keys());
    const { status, body } = await api("/api/alarm-queue").catch(() => ({ status: 0, body: null }));
    if (status !== 200) return;
    const open = new Set(body.data.alarms.map((a) => a.alertId));
    for (const alertId of before) {
      if (open.has(alertId)) continue;
      // A ringing card's alarm may have come in after this answer was made: asked for alone, and
      // dropped with its ring if it is closed.
      if (alarms.cards.get(alertId)?.node.dataset.ringing !== "true") alarms.remove(alertId);
      else void refreshAlarm(alertId);
    }
    for (const alarm of body.data.alarms) alarms.upsert(alarm);
    ringer.update();
  }

  /**
   * Fetches one alarm into its card (`add`: a card is made if there is none — a ring named an alarm
   * this page has not seen). Returns the alarm when it is open; null when it is closed (its card is
   * removed) or unknown.
   */
  async function refreshAlarm(alertId, add = false) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}`).catch(() => ({ status: 0, body: null }));
    if (status !== 200) return null;
    if (body.data.status === "closed" || body.data.closedAt) {
      alarms.close(alertId);
      onAlarmClosed(alertId);
      ringer.update();
      return null;
    }
    if (add || alarms.cards.has(alertId)) alarms.upsert(body.data);
    return body.data;
  }

  /** A 409 ALARM_CLOSED: someone else closed it; the card goes. */
  function closedElsewhere(alertId, status, body) {
    if (status !== 409 || body?.error?.code !== "ALARM_CLOSED") return false;
    alarms.close(alertId);
    onAlarmClosed(alertId);
    ringer.update();
    return true;
  }

  async function loadFleet() {
    const { status, body } = await api("/api/fleet").catch(() => ({ status: 0, body: null }));
    if (status === 200) {
      fleet.load(body.data.kiosks);
      renderRollouts($("fleet-rollouts"), body.data.rollouts ?? []);
    }
  }

  /** The banner while dispatch is unreachable (gateway/alarms/dispatch-banner.ts). */
  function showDispatch(data) {
    const banner = $("dispatch-banner");
    if (data.state !== "unreachable") {
      banner.hidden = true;
      banner.textContent = "";
      return;
    }
    const since = new Date(data.since);
    const at = Number.isNaN(since.getTime()) ? "" : ` since ${since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
    banner.textContent = `Dispatch is not answering${at} (${data.lastError}). Alarms are kept at the gateway and sent when it answers: pass SOS alarms to dispatch by phone.`;
    banner.hidden = false;
  }

  // One tab of the browser holds the stream and relays it to the others (event-feed.js).
  const feed = createEventFeed({
    onOpen: () => {
      // The stream greets a new page with the banner while dispatch is down; until then, none.
      showDispatch({ state: "ok" });
      // Whatever happened while the stream was down (or before this tab heard it): reload both lists.
      void loadAlarms();
      void loadFleet();
    },
    onEvent: (type, data) => {
      if (type === "alarm") {
        const known = alarms.cards.has(data.alertId);
        alarms.upsert(data);
        if (!known && data.status !== "closed") ringer.update();
        if (currentRoute.view === "alarm" && currentRoute.id === data.alertId) renderAlarm($("view-alarm"), data);
      } else if (type === "kiosk") fleet.upsert(data);
      else if (type === "heartbeats") fleet.heartbeats(data.kiosks ?? []);
      else if (type === "dispatch") showDispatch(data);
    },
    onStatus: (state) => onStreamStatus(state),
    // A 401 (session over) logs out; anything else (a proxy's 502) is retried with a backoff.
    onRefused: () => checkSession(),
  });
  window.sosConsole = { ...(window.sosConsole ?? {}), feed };

  const openEvents = () => feed.open();
  const closeEvents = () => feed.close();

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
      alarms.close(alertId);
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
/* global window, document, location, EventSource */
/**
 * The console's live data and pages: the event stream (alarms with their lifecycle, kiosks of the
 * fleet), acknowledge and close, and the pages #/alarms, #/fleet, #/kiosk/<id>, #/alarm/<id>.
 */
import { renderAlarm, renderKiosk } from "./fleet.js";

const $ = (id) => document.getElementById(id);

/** @param {{ api: Function, alarms: import("./alarms.js").AlarmList, fleet: import("./fleet.js").Fleet, ringer: { update(): void }, checkSession: () => Promise<void> }} deps */
export function createPages({ api, alarms, fleet, ringer, checkSession }) {
  let events = null;

  async function loadAlarms() {
    const { status, body } = await api("/api/alarm-queue").catch(() => ({ status: 0, body: null }));
    if (status === 200) for (const alarm of body.data.alarms) alarms.upsert(alarm);
  }

  async function loadFleet() {
    const { status, body } = await api("/api/fleet").catch(() => ({ status: 0, body: null }));
    if (status === 200) fleet.load(body.data.kiosks);
  }

  function closeEvents() {
    events?.close();
    events = null;
  }

  function openEvents() {
    events?.close();
    events = new EventSource("/api/events");
    events.addEventListener("open", () => {
      // Whatever happened while the stream was down: reload both lists.
      void loadAlarms();
      void loadFleet();
    });
    events.addEventListener("alarm", (event) => {
      const alarm = JSON.parse(event.data);
      const known = alarms.cards.has(alarm.alertId);
      alarms.upsert(alarm);
      if (!known && alarm.status !== "closed") ringer.update();
      if (currentRoute.view === "alarm" && currentRoute.id === alarm.alertId) renderAlarm($("view-alarm"), alarm);
    });
    events.addEventListener("kiosk", (event) => fleet.upsert(JSON.parse(event.data)));
    events.addEventListener("error", () => {
      // EventSource reconnects by itself; a 401 (session over) closes it for good.
      if (events?.readyState === EventSource.CLOSED) void checkSession();
    });
  }

  async function acknowledge(alertId) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}/acknowledge`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => ({ status: 0, body: null }));
    if (status === 200) alarms.upsert({ alertId, acknowledgedBy: body.data.by, status: "acknowledged" });
    ringer.update();
  }

  /** Returns an error message for the card, or null when the alarm was closed. */
  async function closeAlarm(alertId, outcome, note) {
    const { status, body } = await api(`/api/alarms/${encodeURIComponent(alertId)}/close`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(note.trim() === "" ? { outcome } : { outcome, note: note.trim() }),
    }).catch(() => ({ status: 0, body: null }));
    if (status === 200) {
      alarms.remove(alertId);
      ringer.update();
      return null;
    }
    return body?.error?.message ?? `Could not close the alarm (HTTP ${status})`;
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

  return { openEvents, closeEvents, loadAlarms, route, acknowledge, closeAlarm };
}
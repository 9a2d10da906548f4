/* global setTimeout, window */
/**
 * The alarm queue: one card per open alarm, SOS before test, waiting before acknowledged, the one
 * that has waited longest first (alarm-order.js queueOrder), with the kiosk's place,
 * times, press count, lifecycle status and timeline, the kiosk's health when the alarm came in, its
 * snapshot (retried until the photo arrives), a map, and Acknowledge / Accept call / Close.
 * Cards come from MQTT (the bare alarm, at once) and from the event stream (the alarm with its
 * lifecycle); a closed alarm leaves the queue.
 */
import { olderView, queueOrder } from "./alarm-order.js";
import { drawMap } from "./map.js";
import { dateTime, renderTimeline } from "./timeline.js";

/** The photo follows the alarm by a second or two: look again soon, then for a couple of minutes. */
const SNAPSHOT_RETRY_MS = 1_000;
const SNAPSHOT_TRIES = 120;

const STATUS_TEXT = {
  received: "received",
  delivered: "delivered to dispatch",
  acknowledged: "acknowledged",
  "call-connected": "call connected",
  closed: "closed",
};

const q = (node, id) => node.querySelector(`[data-testid="${id}"]`);

/** Closed alarms remembered so that an older answer (a queue reload, an acknowledgement) cannot bring one back. */
const CLOSED_KEPT = 10_000;

export class AlarmList {
  /**
   * @param {{ list: HTMLElement, empty: HTMLElement, count: HTMLElement, template: HTMLTemplateElement,
   *   onAccept: (alertId: string) => void, onAcknowledge: (alertId: string) => void,
   *   onClose: (alertId: string, outcome: string, note: string, force: boolean) => Promise<{ message: string, code?: string } | null>,
   *   points: () => object[], onChange: () => void }} el
   */
  constructor(el) {
    this.el = el;
    /** alertId → { alarm, node } */
    this.cards = new Map();
    /** alertIds known to be closed: a close is final, so nothing older may show the card again. */
    this.closed = new Set();
  }

  /** Adds or refreshes an alarm; a closed one is removed, and one known to be closed is not shown again. */
  upsert(alarm) {
    if (alarm.status === "closed") {
      this.close(alarm.alertId);
      return undefined;
    }
    if (this.closed.has(alarm.alertId)) return undefined;
    let card = this.cards.get(alarm.alertId);
    // An older answer than what the card shows (fewer steps): kept as it is.
    if (card !== undefined && olderView(alarm, card.alarm)) return card;
    if (card === undefined) {
      const node = this.el.template.content.firstElementChild.cloneNode(true);
      const id = alarm.alertId;
      q(node, "accept-call").addEventListener("click", () => this.el.onAccept(id));
      q(node, "acknowledge").addEventListener("click", () => this.el.onAcknowledge(id));
      q(node, "close-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const outcome = q(node, "close-outcome").value;
        const error = q(node, "close-error");
        if (outcome === "") {
          error.textContent = "Choose an outcome first.";
          return;
        }
        const button = q(node, "close-alarm");
        button.disabled = true;
        // Another operator is in a call on this alarm: the refusal says who, and the button turns into
        // "Close anyway", which ends their call.
        void this.el.onClose(id, outcome, q(node, "close-note").value, button.dataset.force === "true").then((refused) => {
          button.disabled = false;
          error.textContent = refused?.message ?? "";
          const force = refused?.code === "CALL_IN_PROGRESS";
          button.dataset.force = String(force);
          button.textContent = force ? "Close anyway (ends the call)" : "Close alarm";
        });
      });
      q(node, "alarm-link").href = `#/alarm/${encodeURIComponent(id)}`;
      card = { alarm, node, snapshotLoaded: false };
      this.cards.set(id, card);
    }
    card.alarm = { ...card.alarm, ...alarm };
    this.render(card);
    this.order();
    return card;
  }

  /** The alarm is closed: its card goes for good. */
  close(alertId) {
    this.closed.add(alertId);
    if (this.closed.size > CLOSED_KEPT) this.closed.delete(this.closed.values().next().value);
    this.remove(alertId);
  }

  /** Takes the card off the page (it is shown again if the alarm comes again). */
  remove(alertId) {
    const card = this.cards.get(alertId);
    if (card === undefined) return;
    card.node.remove();
    this.cards.delete(alertId);
    this.order();
  }

  /** Shows or clears the ring on a card. `text` null clears it. */
  setRinging(alertId, text, canAccept) {
    const card = this.cards.get(alertId);
    if (card === undefined) return;
    card.node.dataset.ringing = text === null ? "false" : "true";
    q(card.node, "alarm-call").textContent = text ?? "";
    const button = q(card.node, "accept-call");
    button.hidden = !canAccept;
    button.disabled = !canAccept;
  }

  /** Enables or disables every Accept button (one call at a time). */
  setAcceptEnabled(enabled) {
    for (const { node } of this.cards.values()) q(node, "accept-call").disabled = !enabled;
  }

  /** Open SOS alarms nobody has acknowledged: the alarm sound plays while there is one. */
  unacknowledged() {
    return [...this.cards.values()].filter((c) => c.alarm.kind === "sos" && !c.alarm.acknowledgedBy).length;
  }

  /** The kiosks' places changed (fleet loaded): redraw every card's map (at the next frame). */
  redrawMaps() {
    for (const card of this.cards.values()) this.drawCardMap(card);
  }

  /** Marks a card's map for redrawing; the maps are drawn at most once per animation frame. */
  drawCardMap(card) {
    card.mapDirty = true;
    if (this.mapFrame !== undefined && this.mapFrame !== null) return;
    this.mapFrame = window.requestAnimationFrame(() => {
      this.mapFrame = null;
      for (const c of this.cards.values()) {
        if (!c.mapDirty) continue;
        c.mapDirty = false;
        this.drawCardMapNow(c);
      }
    });
  }

  render(card) {
    const { alarm, node } = card;
    const name = alarm.kioskName ? `${alarm.kioskName} (${alarm.kioskId})` : alarm.kioskId;
    node.dataset.alertId = alarm.alertId;
    node.dataset.kioskId = alarm.kioskId;
    node.dataset.kind = alarm.kind;
    node.dataset.status = alarm.status ?? "received";
    node.dataset.acknowledged = alarm.acknowledgedBy ? "true" : "false";
    node.dataset.escalated = alarm.escalations > 0 && !alarm.acknowledgedBy ? "true" : "false";
    q(node, "alarm-kind").textContent = alarm.kind === "test" ? "TEST" : "SOS";
    q(node, "alarm-kiosk").textContent = name;
    q(node, "alarm-presses").textContent = alarm.pressCount > 1 ? `pressed ×${alarm.pressCount}` : "";
    q(node, "alarm-escalated").textContent = alarm.escalations > 0 && !alarm.acknowledgedBy ? `ESCALATED ×${alarm.escalations}: not acknowledged` : "";
    q(node, "alarm-address").textContent = alarm.location?.address ?? "Address unknown";
    q(node, "alarm-coords").textContent = alarm.location ? `${alarm.location.lat.toFixed(5)}, ${alarm.location.lon.toFixed(5)}${alarm.region ? ` · ${alarm.region}` : ""}` : "";
    // The kiosk's IP link was down: the alarm came over its SMS fallback (docs/fallback.md).
    const viaSms = alarm.channel === "sms" || (alarm.steps ?? []).some((s) => s.type === "received" && s.detail?.channel === "sms");
    node.dataset.channel = viaSms ? "sms" : "mqtt";
    q(node, "alarm-time").textContent = `Pressed ${dateTime(alarm.pressedAt)} · received ${dateTime(alarm.receivedAt)}${viaSms ? " via SMS" : ""}`;
    q(node, "alarm-status").textContent = STATUS_TEXT[alarm.status] ?? "received";
    q(node, "alarm-ack").textContent = alarm.acknowledgedBy ? `by ${alarm.acknowledgedBy}` : "";
    const h = alarm.health;
    q(node, "alarm-health").textContent = h ? `Kiosk at the alarm: ${h.state}${h.components?.length ? ` — failing: ${h.components.join(", ")}` : ""}` : "";
    q(node, "alarm-health").dataset.state = h?.state ?? "";
    const ack = q(node, "acknowledge");
    ack.hidden = Boolean(alarm.acknowledgedBy);
    ack.setAttribute("aria-label", `Acknowledge alarm from ${name}`);
    q(node, "accept-call").setAttribute("aria-label", `Accept call from ${name}`);
    renderTimeline(q(node, "alarm-timeline"), alarm.steps ?? []);
    this.drawCardMap(card);
    if (alarm.snapshotUrl && !card.snapshotLoaded && card.snapshotTries === undefined) this.loadSnapshot(card, name);
  }

  drawCardMapNow(card) {
    const { alarm } = card;
    const points = this.el.points().filter((p) => p.id !== alarm.kioskId);
    if (alarm.location) points.push({ id: alarm.kioskId, lat: alarm.location.lat, lon: alarm.location.lon, state: alarm.health?.state, label: alarm.kioskName ?? alarm.kioskId });
    drawMap(q(card.node, "alarm-map"), points, alarm.kioskId);
  }

  loadSnapshot(card, name) {
    const img = q(card.node, "alarm-snapshot");
    const status = q(card.node, "alarm-snapshot-status");
    img.alt = `Photo from kiosk ${name} at the press`;
    card.snapshotTries = 0;
    img.addEventListener("load", () => {
      card.snapshotLoaded = true;
      img.hidden = false;
      status.textContent = "Photo at the press";
    });
    img.addEventListener("error", () => {
      card.snapshotTries += 1;
      if (card.snapshotTries >= SNAPSHOT_TRIES || !this.cards.has(card.alarm.alertId)) {
        status.textContent = "No photo from this kiosk";
        return;
      }
      setTimeout(() => {
        const url = card.alarm.snapshotUrl;
        img.src = `${url}${url.includes("?") ? "&" : "?"}try=${card.snapshotTries}`;
      }, SNAPSHOT_RETRY_MS);
    });
    img.src = card.alarm.snapshotUrl;
  }

  order() {
    const sorted = [...this.cards.values()].sort((a, b) => queueOrder(a.alarm, b.alarm));
    sorted.forEach(({ node }, i) => {
      if (this.el.list.children[i] !== node) this.el.list.insertBefore(node, this.el.list.children[i] ?? null);
    });
    this.el.empty.hidden = sorted.length > 0;
    this.el.count.textContent = sorted.length > 0 ? `(${sorted.length})` : "";
    this.el.onChange();
  }

  clear() {
    this.cards.clear();
    this.el.list.replaceChildren();
    this.order();
  }
}

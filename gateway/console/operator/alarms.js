/* global setTimeout */
/**
 * The alarm list: one card per alert, newest first, with the kiosk's place, times, its snapshot
 * (retried until the kiosk's photo arrives) and, while the kiosk rings, an Accept button.
 */

/** The photo follows the alarm by a second or two: look again soon, then for a couple of minutes. */
const SNAPSHOT_RETRY_MS = 1_000;
const SNAPSHOT_TRIES = 120;

const time = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
};

export class AlarmList {
  /** @param {{ list: HTMLElement, empty: HTMLElement, count: HTMLElement, template: HTMLTemplateElement, onAccept: (alertId: string) => void }} el */
  constructor(el) {
    this.el = el;
    /** alertId → { alarm, node } */
    this.cards = new Map();
  }

  /** Adds or refreshes an alarm (from MQTT or from GET /api/alarms). */
  upsert(alarm) {
    let card = this.cards.get(alarm.alertId);
    if (card === undefined) {
      const node = this.el.template.content.firstElementChild.cloneNode(true);
      node.querySelector('[data-testid="accept-call"]').addEventListener("click", () => this.el.onAccept(alarm.alertId));
      card = { alarm, node, snapshotLoaded: false };
      this.cards.set(alarm.alertId, card);
    }
    card.alarm = { ...card.alarm, ...alarm };
    this.render(card);
    this.order();
    return card;
  }

  /** A ring from a kiosk whose alarm we have not seen (the page came up after it): a minimal card. */
  ensure(alertId, kioskId) {
    const known = this.cards.get(alertId);
    if (known !== undefined) return known;
    return this.upsert({ alertId, kioskId, kioskName: null, kind: "sos", pressedAt: new Date().toISOString(), receivedAt: new Date().toISOString(), location: null, snapshotUrl: null });
  }

  /** Shows or clears the ring on a card. `text` null clears it. */
  setRinging(alertId, text, canAccept) {
    const card = this.cards.get(alertId);
    if (card === undefined) return;
    card.node.dataset.ringing = text === null ? "false" : "true";
    card.node.querySelector('[data-testid="alarm-call"]').textContent = text ?? "";
    const button = card.node.querySelector('[data-testid="accept-call"]');
    button.hidden = !canAccept;
    button.disabled = !canAccept;
  }

  /** Enables or disables every Accept button (one call at a time). */
  setAcceptEnabled(enabled) {
    for (const { node } of this.cards.values()) node.querySelector('[data-testid="accept-call"]').disabled = !enabled;
  }

  render(card) {
    const { alarm, node } = card;
    const name = alarm.kioskName ? `${alarm.kioskName} (${alarm.kioskId})` : alarm.kioskId;
    node.dataset.alertId = alarm.alertId;
    node.dataset.kioskId = alarm.kioskId;
    node.dataset.kind = alarm.kind;
    node.querySelector('[data-testid="alarm-kind"]').textContent = alarm.kind === "test" ? "TEST" : "SOS";
    node.querySelector('[data-testid="alarm-kiosk"]').textContent = name;
    node.querySelector('[data-testid="alarm-address"]').textContent = alarm.location?.address ?? "Address unknown";
    node.querySelector('[data-testid="alarm-coords"]').textContent =
      alarm.location ? `${alarm.location.lat.toFixed(5)}, ${alarm.location.lon.toFixed(5)}` : "";
    node.querySelector('[data-testid="alarm-time"]').textContent = `Pressed ${time(alarm.pressedAt)} · received ${time(alarm.receivedAt)}`;
    node.querySelector('[data-testid="accept-call"]').setAttribute("aria-label", `Accept call from ${name}`);
    if (alarm.snapshotUrl && !card.snapshotLoaded && card.snapshotTries === undefined) this.loadSnapshot(card, name);
  }

  loadSnapshot(card, name) {
    const img = card.node.querySelector('[data-testid="alarm-snapshot"]');
    const status = card.node.querySelector('[data-testid="alarm-snapshot-status"]');
    img.alt = `Photo from kiosk ${name} at the press`;
    card.snapshotTries = 0;
    img.addEventListener("load", () => {
      card.snapshotLoaded = true;
      img.hidden = false;
      status.textContent = "Photo at the press";
    });
    img.addEventListener("error", () => {
      card.snapshotTries += 1;
      if (card.snapshotTries >= SNAPSHOT_TRIES) {
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
    const sorted = [...this.cards.values()].sort((a, b) => String(b.alarm.receivedAt).localeCompare(String(a.alarm.receivedAt)));
    sorted.forEach(({ node }, i) => {
      if (this.el.list.children[i] !== node) this.el.list.insertBefore(node, this.el.list.children[i] ?? null);
    });
    this.el.empty.hidden = sorted.length > 0;
    this.el.count.textContent = sorted.length > 0 ? `(${sorted.length})` : "";
  }

  clear() {
    this.cards.clear();
    this.el.list.replaceChildren();
    this.order();
  }
}

/* global document, window */
/**
 * The fleet page (every kiosk: state, since when, last heartbeat, failing parts, last test alarm,
 * region, place; filters by state and region; a map), the kiosk page (its alarms and state history)
 * and the alarm page (one alarm's timeline). Rows are kept live from the event stream.
 */
import { drawMap } from "./map.js";
import { dateTime, renderTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);

function cell(text, testid) {
  const td = document.createElement("td");
  td.textContent = text;
  if (testid) td.dataset.testid = testid;
  return td;
}

function h(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** Points for maps: { id, lat, lon, state, label }. */
const pointOf = (k) => ({ id: k.kioskId, lat: k.location.lat, lon: k.location.lon, state: k.state, label: k.name ?? k.kioskId });

/**
 * The fleet table and map. A fleet of thousands: rows are kept in a map (kioskId → <tr>) and a kiosk's
 * change updates its row in place; nothing is drawn while the fleet page is hidden (drawn when shown);
 * the map is redrawn at most once per animation frame.
 */
export class Fleet {
  /** @param {{ onChange: () => void }} options */
  constructor(options) {
    this.options = options;
    /** kioskId → FleetKiosk */
    this.kiosks = new Map();
    /** kioskId → <tr>, for the kiosks the filters show. */
    this.rows = new Map();
    this.visible = false;
    /** The table must be rebuilt when next shown (loaded, or a filter or state changed while hidden). */
    this.stale = true;
    this.mapFrame = null;
    this.cachedPoints = null;
    $("fleet-state").addEventListener("change", () => this.render());
    $("fleet-region").addEventListener("change", () => this.render());
  }

  /** The fleet page was shown or hidden: drawn only while shown. */
  setVisible(visible) {
    this.visible = visible;
    if (visible && this.stale) this.render();
  }

  load(rows) {
    this.kiosks = new Map(rows.map((r) => [r.kioskId, r]));
    this.cachedPoints = null;
    this.stale = true;
    if (this.visible) this.render();
    this.options.onChange();
  }

  upsert(row) {
    const before = this.kiosks.get(row.kioskId);
    this.kiosks.set(row.kioskId, row);
    const moved = before?.state !== row.state || before?.location?.lat !== row.location?.lat || before?.location?.lon !== row.location?.lon;
    if (moved) this.cachedPoints = null;
    if (!this.visible) this.stale = true;
    else if (before === undefined || before.region !== row.region) this.render();
    else {
      const tr = this.rows.get(row.kioskId);
      const match = this.matches(row);
      if (tr !== undefined && match) this.fillRow(tr, row);
      else if (tr !== undefined) {
        tr.remove();
        this.rows.delete(row.kioskId);
      } else if (match) this.render();
      this.summary();
      if (moved) this.drawMapSoon();
    }
    if (moved) this.options.onChange();
  }

  /** A batch of heartbeat times ({ kioskId, lastHeartbeatAt }[]): only those cells change. */
  heartbeats(list) {
    for (const { kioskId, lastHeartbeatAt } of list) {
      const k = this.kiosks.get(kioskId);
      if (k === undefined || typeof lastHeartbeatAt !== "string") continue;
      const updated = { ...k, lastHeartbeatAt };
      this.kiosks.set(kioskId, updated);
      const tr = this.visible ? this.rows.get(kioskId) : undefined;
      if (tr !== undefined) tr.cells[3].textContent = dateTime(lastHeartbeatAt);
    }
  }

  /** Points for maps: { id, lat, lon, state, label } (one array, rebuilt only when a place or state changed). */
  points() {
    this.cachedPoints ??= [...this.kiosks.values()].filter((k) => k.location).map(pointOf);
    return this.cachedPoints;
  }

  matches(k) {
    const state = $("fleet-state").value;
    const region = $("fleet-region").value;
    return (state === "" || k.state === state) && (region === "" || k.region === region);
  }

  /** Rebuilds the table (filters, load, a kiosk entering or leaving the filter); rows are reused. */
  render() {
    if (!this.visible) {
      this.stale = true;
      return;
    }
    this.stale = false;
    const regions = [...new Set([...this.kiosks.values()].map((k) => k.region).filter(Boolean))].sort();
    const select = $("fleet-region");
    const chosen = select.value;
    if ([...select.options].slice(1).map((o) => o.value).join("|") !== regions.join("|")) {
      select.replaceChildren(h("option", "all", { value: "" }), ...regions.map((r) => h("option", r, { value: r })));
      select.value = regions.includes(chosen) ? chosen : "";
    }
    const shown = [...this.kiosks.values()].filter((k) => this.matches(k));
    const rows = new Map();
    for (const k of shown) {
      const tr = this.rows.get(k.kioskId) ?? this.newRow();
      this.fillRow(tr, k);
      rows.set(k.kioskId, tr);
    }
    this.rows = rows;
    $("fleet-rows").replaceChildren(...rows.values());
    this.summary();
    this.drawMapSoon();
  }

  summary() {
    const counts = {};
    for (const k of this.kiosks.values()) counts[k.state] = (counts[k.state] ?? 0) + 1;
    $("fleet-count").textContent = `(${this.rows.size} of ${this.kiosks.size})`;
    $("fleet-summary").textContent = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(" · ");
  }

  newRow() {
    const tr = document.createElement("tr");
    tr.dataset.testid = "fleet-row";
    const name = document.createElement("td");
    name.append(h("a"));
    tr.append(name, cell("", "fleet-state-cell"), ...Array.from({ length: 6 }, () => cell("")));
    return tr;
  }

  fillRow(tr, k) {
    tr.dataset.kioskId = k.kioskId;
    tr.dataset.state = k.state;
    const link = tr.cells[0].firstChild;
    link.textContent = k.name ? `${k.name} (${k.kioskId})` : k.kioskId;
    link.setAttribute("href", `#/kiosk/${encodeURIComponent(k.kioskId)}`);
    const texts = [k.state, dateTime(k.since), dateTime(k.lastHeartbeatAt), k.components.join(", ") || "-", dateTime(k.lastTestAlarmAt), k.region ?? "-", k.address];
    texts.forEach((text, i) => {
      const td = tr.cells[i + 1];
      if (td.textContent !== text) td.textContent = text;
    });
    tr.cells[1].className = `state state-${k.state}`;
  }

  drawMapSoon() {
    if (this.mapFrame !== null) return;
    this.mapFrame = window.requestAnimationFrame(() => {
      this.mapFrame = null;
      if (!this.visible) {
        this.stale = true;
        return;
      }
      drawMap($("fleet-map"), [...this.rows.keys()].map((id) => this.kiosks.get(id)).filter((k) => k?.location).map(pointOf));
    });
  }
}

/** The kiosk page: its current state, state history and alarms. */
export function renderKiosk(section, page, points) {
  const { kiosk, transitions, alarms } = page;
  const map = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  map.setAttribute("class", "map");
  map.dataset.testid = "kiosk-map";
  const history = h("table", undefined, { class: "fleet", "data-testid": "kiosk-history" });
  const head = h("tr");
  head.append(...["When", "From", "To", "Why", "Failing"].map((t) => h("th", t)));
  const thead = h("thead");
  thead.append(head);
  history.append(thead);
  history.append(
    ...transitions.map((t) => {
      const tr = h("tr");
      tr.append(cell(dateTime(t.at)), cell(t.from), cell(t.to), cell(t.reason), cell(t.components.join(", ") || "-"));
      return tr;
    }),
  );
  const list = h("ul", undefined, { class: "kiosk-alarms", "data-testid": "kiosk-alarms" });
  list.append(
    ...alarms.map((a) => {
      const li = h("li");
      li.append(h("a", `${a.kind.toUpperCase()} ${dateTime(a.receivedAt)} — ${a.status}${a.outcome ? ` (${a.outcome})` : ""}`, { href: `#/alarm/${encodeURIComponent(a.alertId)}` }));
      return li;
    }),
  );
  section.replaceChildren(
    h("h2", `Kiosk ${kiosk.name ? `${kiosk.name} (${kiosk.kioskId})` : kiosk.kioskId}`),
    h("p", `${kiosk.state} since ${dateTime(kiosk.since)} — ${kiosk.reason ?? ""}`, { "data-testid": "kiosk-state", class: `state state-${kiosk.state}` }),
    h("p", `${kiosk.address}${kiosk.region ? ` · ${kiosk.region}` : ""} · last heartbeat ${dateTime(kiosk.lastHeartbeatAt)} · last test alarm ${dateTime(kiosk.lastTestAlarmAt)}`),
    h("p", kiosk.components.length ? `Failing: ${kiosk.components.join(", ")}` : "Nothing failing."),
    h("p", describeSoftware(page.software), { "data-testid": "kiosk-software" }),
    map,
    h("h3", `Alarms (${alarms.length})`),
    alarms.length ? list : h("p", "No alarms.", { class: "quiet" }),
    h("h3", "State history"),
    history,
  );
  drawMap(map, points.map((p) => (p.id === kiosk.kioskId ? { ...p, state: kiosk.state } : p)), kiosk.kioskId, false);
}

/** One line for a kiosk's software: its release, and an update being tried or rolled back. */
export function describeSoftware(software) {
  if (!software) return "Software: not reported yet.";
  const u = software.update;
  if (!u) return `Software: ${software.version ?? "?"}.`;
  if (u.phase === "trying" || u.phase === "switching") return `Software: ${u.current}, trying ${u.target} since ${dateTime(u.at)}.`;
  if (u.phase === "rolled-back") return `Software: ${u.current} (${u.failed} rolled back ${dateTime(u.at)}: ${u.reason ?? "?"}).`;
  return `Software: ${u.current}.`;
}

/** The newest rollouts above the fleet table: version, wave, state, and why one stopped. */
export function renderRollouts(list, rollouts) {
  list.replaceChildren(
    ...rollouts.map((r) => {
      const text = `Release ${r.version} to ${r.target}: wave ${r.wave}/${r.waves} of ${r.kiosks} kiosk${r.kiosks === 1 ? "" : "s"} — ${r.state}${r.noAnswer ? `, ${r.noAnswer} no answer` : ""}${r.reason ? ` (${r.reason})` : ""}`;
      return h("li", text, { class: `rollout rollout-${r.state}`, "data-testid": "fleet-rollout" });
    }),
  );
}

/** The alarm page: one alarm with its whole timeline. */
export function renderAlarm(section, alarm) {
  const timeline = h("ol", undefined, { class: "timeline big", "data-testid": "alarm-detail-timeline" });
  renderTimeline(timeline, alarm.steps);
  const back = h("a", `Kiosk ${alarm.kioskId}`, { href: `#/kiosk/${encodeURIComponent(alarm.kioskId)}` });
  const facts = h("p");
  facts.append(back, document.createTextNode(` · ${alarm.location?.address ?? ""} · ${alarm.pressCount} press${alarm.pressCount === 1 ? "" : "es"}`));
  const img = h("img", undefined, { alt: `Photo from kiosk ${alarm.kioskId} at the press`, class: "detail-snapshot" });
  img.addEventListener("error", () => img.remove());
  img.src = alarm.snapshotUrl;
  section.replaceChildren(
    h("h2", `${alarm.kind === "test" ? "TEST" : "SOS"} alarm ${alarm.kioskName ?? alarm.kioskId}`, { "data-testid": "alarm-detail-title" }),
    facts,
    h("p", `Status: ${alarm.status}${alarm.outcome ? ` · outcome ${alarm.outcome} by ${alarm.closedBy}` : ""}${alarm.escalations ? ` · escalated ${alarm.escalations}×` : ""}`, { "data-testid": "alarm-detail-status" }),
    timeline,
    img,
  );
}

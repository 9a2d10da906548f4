/* global document */
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

export class Fleet {
  /** @param {{ onChange: () => void }} options */
  constructor(options) {
    this.options = options;
    /** kioskId → FleetKiosk */
    this.kiosks = new Map();
    $("fleet-state").addEventListener("change", () => this.render());
    $("fleet-region").addEventListener("change", () => this.render());
  }

  load(rows) {
    this.kiosks = new Map(rows.map((r) => [r.kioskId, r]));
    this.render();
    this.options.onChange();
  }

  upsert(row) {
    const before = this.kiosks.get(row.kioskId);
    this.kiosks.set(row.kioskId, row);
    this.render();
    if (before?.state !== row.state || before?.location?.lat !== row.location?.lat) this.options.onChange();
  }

  /** Points for maps: { id, lat, lon, state, label }. */
  points() {
    return [...this.kiosks.values()].filter((k) => k.location).map((k) => ({ id: k.kioskId, lat: k.location.lat, lon: k.location.lon, state: k.state, label: k.name ?? k.kioskId }));
  }

  render() {
    const regions = [...new Set([...this.kiosks.values()].map((k) => k.region).filter(Boolean))].sort();
    const select = $("fleet-region");
    const chosen = select.value;
    if ([...select.options].slice(1).map((o) => o.value).join("|") !== regions.join("|")) {
      select.replaceChildren(h("option", "all", { value: "" }), ...regions.map((r) => h("option", r, { value: r })));
      select.value = regions.includes(chosen) ? chosen : "";
    }
    const state = $("fleet-state").value;
    const region = select.value;
    const shown = [...this.kiosks.values()].filter((k) => (state === "" || k.state === state) && (region === "" || k.region === region));
    const counts = {};
    for (const k of this.kiosks.values()) counts[k.state] = (counts[k.state] ?? 0) + 1;
    $("fleet-count").textContent = `(${shown.length} of ${this.kiosks.size})`;
    $("fleet-summary").textContent = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(" · ");
    $("fleet-rows").replaceChildren(
      ...shown.map((k) => {
        const tr = document.createElement("tr");
        tr.dataset.testid = "fleet-row";
        tr.dataset.kioskId = k.kioskId;
        tr.dataset.state = k.state;
        const name = document.createElement("td");
        const link = h("a", k.name ? `${k.name} (${k.kioskId})` : k.kioskId, { href: `#/kiosk/${encodeURIComponent(k.kioskId)}` });
        name.append(link);
        const st = cell(k.state, "fleet-state-cell");
        st.className = `state state-${k.state}`;
        tr.append(name, st, cell(dateTime(k.since)), cell(dateTime(k.lastHeartbeatAt)), cell(k.components.join(", ") || "-"), cell(dateTime(k.lastTestAlarmAt)), cell(k.region ?? "-"), cell(k.address));
        return tr;
      }),
    );
    drawMap($("fleet-map"), shown.filter((k) => k.location).map((k) => ({ id: k.kioskId, lat: k.location.lat, lon: k.location.lon, state: k.state, label: k.name ?? k.kioskId })));
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
    map,
    h("h3", `Alarms (${alarms.length})`),
    alarms.length ? list : h("p", "No alarms.", { class: "quiet" }),
    h("h3", "State history"),
    history,
  );
  drawMap(map, points.map((p) => (p.id === kiosk.kioskId ? { ...p, state: kiosk.state } : p)), kiosk.kioskId, false);
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

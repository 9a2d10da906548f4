/* global document */
/**
 * A map with no tile server: kiosks as points over a latitude/longitude grid, drawn as SVG.
 * Equirectangular, with longitudes shrunk by cos(latitude) so distances look right locally.
 */
const NS = "http://www.w3.org/2000/svg";
const W = 400;
const H = 260;
const PAD = 24;

const STATE_COLOUR = { online: "#30d158", degraded: "#ffd60a", offline: "#ff3b30", "never-seen": "#8e8e93", decommissioned: "#48484a" };

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round grid step (0.01, 0.02, 0.05, 0.1, … degrees) giving about 4–8 lines over `span`. */
function gridStep(span) {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => span / s <= 8) ?? 10 * p;
}

/**
 * Draws `points` ({ id, lat, lon, state, label }) on `svg`; `focus` (an id) is drawn large and red
 * with its label (in its state's colour when `alarm` is false: a kiosk page), and the view is centred
 * on it when given.
 */
export function drawMap(svg, points, focus = null, alarm = true) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const placed = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  if (placed.length === 0) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "map-label" }, "no location"));
    return;
  }
  const f = placed.find((p) => p.id === focus);
  let lats = placed.map((p) => p.lat);
  let lons = placed.map((p) => p.lon);
  if (f !== undefined) {
    // Centred on the alarm's kiosk, showing its neighbours within ~0.5°.
    const near = placed.filter((p) => Math.abs(p.lat - f.lat) < 0.5 && Math.abs(p.lon - f.lon) < 0.5);
    lats = near.map((p) => p.lat);
    lons = near.map((p) => p.lon);
  }
  const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const k = Math.cos((midLat * Math.PI) / 180) || 1;
  // Centred on the focus: the span must reach the farthest neighbour on either side.
  const spanOf = (xs, c) => (c === undefined ? Math.max(...xs) - Math.min(...xs) : 2 * Math.max(...xs.map((v) => Math.abs(v - c))));
  let latSpan = Math.max(spanOf(lats, f?.lat), 0.02) * 1.3;
  let lonSpan = Math.max(spanOf(lons, f?.lon) * k, 0.02) * 1.3;
  // Keep the aspect of the drawing area.
  const aspect = (W - 2 * PAD) / (H - 2 * PAD);
  if (lonSpan / latSpan < aspect) lonSpan = latSpan * aspect;
  else latSpan = lonSpan / aspect;
  const cLat = f?.lat ?? midLat;
  const cLon = f?.lon ?? (Math.min(...lons) + Math.max(...lons)) / 2;
  const x = (lon) => PAD + (((lon - cLon) * k) / lonSpan + 0.5) * (W - 2 * PAD);
  const y = (lat) => PAD + (0.5 - (lat - cLat) / latSpan) * (H - 2 * PAD);

  svg.append(el("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }));
  const step = gridStep(Math.max(latSpan, lonSpan / k));
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const lat0 = cLat - latSpan / 2;
  const lon0 = cLon - lonSpan / k / 2;
  for (let lat = Math.ceil(lat0 / step) * step; lat <= lat0 + latSpan; lat += step) {
    svg.append(el("line", { x1: 0, x2: W, y1: y(lat), y2: y(lat), class: "map-grid" }));
    svg.append(el("text", { x: 2, y: y(lat) - 2, class: "map-tick" }, `${lat.toFixed(decimals)}°N`));
  }
  for (let lon = Math.ceil(lon0 / step) * step; lon <= lon0 + lonSpan / k; lon += step) {
    svg.append(el("line", { x1: x(lon), x2: x(lon), y1: 0, y2: H, class: "map-grid" }));
    svg.append(el("text", { x: x(lon) + 2, y: H - 3, class: "map-tick" }, `${lon.toFixed(decimals)}°E`));
  }
  // Only the points inside the view (a card's map shows a few neighbours, not the whole fleet).
  const inside = (cx, cy) => cx >= -5 && cx <= W + 5 && cy >= -5 && cy <= H + 5;
  let drawn = 0;
  for (const p of placed) {
    if (p.id === focus) continue;
    const cx = x(p.lon);
    const cy = y(p.lat);
    if (!inside(cx, cy)) continue;
    drawn += 1;
    const dot = el("circle", { cx, cy, r: 5, fill: STATE_COLOUR[p.state] ?? "#8e8e93", class: "map-point", "data-kiosk-id": p.id });
    dot.append(el("title", {}, `${p.label} (${p.state ?? "unknown"})`));
    svg.append(dot);
  }
  if (f !== undefined) {
    svg.append(el("circle", { cx: x(f.lon), cy: y(f.lat), r: 14, class: alarm ? "map-focus-ring" : "map-focus-ring-kiosk" }));
    const colour = alarm ? {} : { fill: STATE_COLOUR[f.state] ?? "#8e8e93" };
    svg.append(el("circle", { cx: x(f.lon), cy: y(f.lat), r: 7, class: alarm ? "map-focus" : "map-focus-kiosk", "data-kiosk-id": f.id, ...colour }));
    svg.append(el("text", { x: x(f.lon) + 12, y: y(f.lat) - 10, class: "map-label" }, f.label));
  }
  svg.setAttribute("aria-label", f !== undefined ? `Map: ${f.label} at ${f.lat.toFixed(4)}, ${f.lon.toFixed(4)}` : `Map of ${placed.length} kiosks`);
  svg.dataset.points = String(drawn + (f === undefined ? 0 : 1));
}

export { STATE_COLOUR };

/* global document */
/** An alarm's lifecycle as a list: what happened, when, and who did it. */

const WHAT = {
  pressed: "Button pressed",
  received: "Received by the gateway",
  delivered: "Delivered to dispatch",
  acknowledged: "Acknowledged",
  "call-connected": "Call connected",
  closed: "Closed",
  presses: "Pressed again",
  escalated: "Escalated (not acknowledged)",
};

// One formatter each, made once: toLocaleString builds a new one per call (thousands of fleet cells).
const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

export const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? "-") : TIME.format(d);
};

export const dateTime = (iso) => {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : DATE_TIME.format(d);
};

function detailText(step) {
  const d = step.detail ?? {};
  if (step.type === "received" && d.health) {
    const parts = d.health.components?.length ? ` (${d.health.components.join(", ")})` : "";
    return `kiosk was ${d.health.state}${parts}`;
  }
  if (step.type === "closed" && d.outcome) return `outcome: ${d.outcome}`;
  if (step.type === "presses" && d.pressCount) return `${d.pressCount} presses`;
  if (step.type === "escalated" && d.number) return `#${d.number}`;
  if (step.type === "delivered" && d.attempt) return `attempt ${d.attempt}`;
  return "";
}

/** Fills `list` (an <ol>) with the steps, oldest first; times relative to the press too. */
export function renderTimeline(list, steps) {
  const start = steps.length > 0 ? Date.parse(steps[0].at) : NaN;
  list.replaceChildren(
    ...steps.map((step) => {
      const li = document.createElement("li");
      li.dataset.testid = "timeline-step";
      li.dataset.step = step.type;
      const rel = Number.isFinite(start) ? `+${((Date.parse(step.at) - start) / 1000).toFixed(1)} s` : "";
      const who = step.actor ? ` · ${step.actor}` : "";
      const detail = detailText(step);
      const time = document.createElement("time");
      time.dateTime = step.at;
      time.textContent = clock(step.at);
      const text = document.createElement("span");
      text.textContent = ` ${WHAT[step.type] ?? step.type}${who}${detail ? ` · ${detail}` : ""} `;
      const small = document.createElement("small");
      small.textContent = rel;
      li.append(time, text, small);
      return li;
    }),
  );
}

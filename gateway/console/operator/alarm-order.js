/**
 * Which of two views of one alarm is the newer: its steps are only ever added (acknowledged, call
 * connected, escalated, …), so a view with fewer steps is an older answer — a queue reload or a
 * request that was under way while the event stream brought the next step — and must not take a
 * card back (an acknowledged alarm ringing again as "received"). A bare alarm (the MQTT
 * OperatorAlarm, no steps) is never older: it only adds what it carries.
 */
export function olderView(incoming, known) {
  return Array.isArray(incoming?.steps) && Array.isArray(known?.steps) && incoming.steps.length < known.steps.length;
}

/**
 * The queue's order (the same as the gateway's `GET /api/alarm-queue`, gateway/alarms/views.ts
 * queueOrder): SOS before test; waiting (not acknowledged, escalated or not) before acknowledged;
 * within each, the one that has waited longest first (received first). A newer alarm never pushes an
 * older one nobody has taken below the fold.
 */
export function queueOrder(a, b) {
  const kind = (x) => (x.kind === "test" ? 1 : 0);
  const taken = (x) => (x.acknowledgedBy ? 1 : 0);
  return kind(a) - kind(b) || taken(a) - taken(b) || String(a.receivedAt).localeCompare(String(b.receivedAt)) || String(a.alertId).localeCompare(String(b.alertId));
}

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

/* global window, document, navigator, location, fetch, TextDecoder, setTimeout, clearTimeout */
/**
 * The operator page: log in, open camera and microphone at once (so a call starts fast), listen
 * for alarms and kiosk calls over MQTT on /mqtt, and answer one call at a time.
 * Test hooks: data-testid attributes, and window.sosCall = { pc, state, callId, kioskId, ... }.
 */
import mqtt from "mqtt";
import { AlarmList } from "./alarms.js";
import { Call } from "./call.js";
import { Fleet } from "./fleet.js";
import { createPages } from "./pages.js";
import { Ringer } from "./ringer.js";

const ALARMS_TOPIC = "sos/v1/operators/alarms";
const CALL_UP_FILTER = "sos/v1/kiosks/+/call/up";
const CALL_UP = /^sos\/v1\/kiosks\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/call\/up$/;
const connectMqtt = mqtt.connect ?? mqtt.default?.connect;

const $ = (id) => document.getElementById(id);

/** For tests and for the curious: the current (or last) call. Updated in place. */
/** This tab's identity in call messages: two tabs of one login must not both answer a call. */
// getRandomValues, not randomUUID: the latter exists only in secure contexts (plain http on a LAN is not).
const PAGE_ID = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
const sosCall = { pc: null, state: "idle", callId: null, kioskId: null, alertId: null, muted: false, reason: null, localStream: null };
window.sosCall = sosCall;

let session = null;
let client = null;
let call = null;
/** callId → { kioskId, alertId } for kiosks ringing that nobody here has accepted yet. */
const rings = new Map();
/** callId → { kioskId, alertId }: rings naming an alarm this page has not seen, while it is asked for. */
const pendingRings = new Map();
/** Alarms being asked for because a ring named them. */
const checking = new Set();

const fleet = new Fleet({ onChange: () => alarms.redrawMaps() });
const alarms = new AlarmList({
  list: $("alarm-list"),
  empty: $("no-alarms"),
  count: $("alarm-count"),
  template: $("alarm-template"),
  onAccept: (alertId) => accept(alertId),
  onAcknowledge: (alertId) => void pages.acknowledge(alertId),
  onClose: (alertId, outcome, note, force) => pages.closeAlarm(alertId, outcome, note, force),
  points: () => fleet.points(),
  onChange: () => {
    const open = alarms?.cards.size ?? 0;
    $("nav-alarm-count").textContent = open > 0 ? `(${open})` : "";
    ringer?.update();
  },
});

const ringer = new Ringer(() => ({ ringing: rings.size > 0 && call === null, count: rings.size, alarms: alarms.unacknowledged(), armed: session !== null }), $("alarm-sound"));
const pages = createPages({
  api: (path, options) => api(path, options),
  alarms,
  fleet,
  ringer,
  checkSession: () => checkSession(),
  onStreamStatus: (state) => setStreamStatus(state),
  onAlarmClosed: (alertId) => dropRingsOf(alertId),
});

// --- login -------------------------------------------------------------------------------------------
function showLogin(message = "") {
  $("login").hidden = false;
  $("console").hidden = true;
  $("logout").hidden = true;
  $("operator-name").hidden = true;
  $("login-error").textContent = message;
  setStatus("Not logged in", "offline");
  $("login-name").focus();
}

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...options });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

// The form's submit button is disabled in the HTML until this script runs: a form sent without it
// would put the password in a URL (history, proxy logs). Its method is POST all the same.
$("login-submit").disabled = false;
$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("login-submit");
  button.disabled = true;
  $("login-error").textContent = "";
  try {
    const { status, body } = await api("/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: $("login-name").value.trim(), password: $("login-password").value }),
    });
    if (status !== 200) {
      $("login-error").textContent = body?.error?.message ?? `Login failed (HTTP ${status})`;
      return;
    }
    $("login-password").value = "";
    start(body.data);
  } catch (err) {
    $("login-error").textContent = `Cannot reach the gateway: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  call?.hangup("the operator logged out");
  await api("/api/logout", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => undefined);
  stop();
  showLogin("Logged out.");
});

function start(data) {
  session = data;
  ringer.update();
  $("login").hidden = true;
  $("console").hidden = false;
  $("nav").hidden = false;
  void pages.route();
  pages.openEvents();
  $("logout").hidden = false;
  $("operator-name").hidden = false;
  $("operator-name").textContent = `Operator: ${data.operator}`;
  void openMedia();
  connect();
}

function stop() {
  pages.closeEvents();
  $("nav").hidden = true;
  client?.end(true);
  client = null;
  session = null;
  rings.clear();
  pendingRings.clear();
  ringer.update();
  alarms.clear();
  for (const track of sosCall.localStream?.getTracks() ?? []) track.stop();
  sosCall.localStream = null;
  $("local-video").srcObject = null;
}

// --- camera and microphone, opened at login so a call starts without waiting for them ----------------
async function openMedia() {
  const status = $("media-status");
  if (!navigator.mediaDevices?.getUserMedia) {
    status.textContent = "Camera and microphone unavailable: open this page over HTTPS (or on localhost). Calls will be receive-only.";
    return;
  }
  for (const constraints of [{ audio: true, video: true }, { audio: true, video: false }]) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      if (session === null) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      sosCall.localStream = stream;
      $("local-video").srcObject = stream;
      status.textContent = constraints.video ? "Camera and microphone ready." : "Microphone ready (no camera).";
      return;
    } catch (err) {
      status.textContent = `Camera/microphone blocked (${err instanceof Error ? err.name : String(err)}): allow them in the browser, then reload. Calls will be receive-only.`;
    }
  }
}

// --- MQTT over WebSocket -----------------------------------------------------------------------------
/** The MQTT connection's status, and the event stream's ("live", "connecting", "down"): shown together. */
let mqttStatus = { text: "Not logged in", state: "offline" };
let streamStatus = "down";
const STREAM_TEXT = { connecting: "live updates: connecting…", down: "live updates interrupted: retrying…" };

function setStatus(text, state) {
  mqttStatus = { text, state };
  showStatus();
}

function setStreamStatus(state) {
  streamStatus = state;
  showStatus();
}

/** Since when (epoch ms) the logged-in page has not been connected (MQTT and the event stream); null while it is. */
let unlinkedSince = null;
let unlinkedTimer = null;
/** A (re)connect that takes less than this shows no banner (the login, a gateway restart's blink). */
const UNLINKED_GRACE_MS = 3_000;

function showStatus() {
  const el = $("connection-status");
  const stream = session !== null && streamStatus !== "live" ? STREAM_TEXT[streamStatus] : "";
  el.textContent = stream ? `${mqttStatus.text} · ${stream}` : mqttStatus.text;
  el.dataset.state = mqttStatus.state === "connected" && streamStatus !== "live" && session !== null ? "connecting" : mqttStatus.state;
  el.dataset.stream = streamStatus;
  showLink();
}

/**
 * While the page is not connected, alarms cannot reach it: a quiet queue means nothing then. The
 * queue says it is unknown at once ("No alarms." is never shown), and after UNLINKED_GRACE_MS a red
 * banner says since when and what to do.
 */
function showLink() {
  const linked = session === null || (mqttStatus.state === "connected" && streamStatus === "live");
  const banner = $("link-banner");
  $("view-alarms").dataset.link = linked ? "up" : "down";
  $("queue-unknown").hidden = linked;
  if (linked) {
    unlinkedSince = null;
    clearTimeout(unlinkedTimer);
    unlinkedTimer = null;
    banner.hidden = true;
    banner.textContent = "";
    return;
  }
  unlinkedSince ??= Date.now();
  const waited = Date.now() - unlinkedSince;
  if (waited < UNLINKED_GRACE_MS) {
    unlinkedTimer ??= setTimeout(() => {
      unlinkedTimer = null;
      showLink();
    }, UNLINKED_GRACE_MS - waited);
    return;
  }
  const at = new Date(unlinkedSince).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  banner.textContent =
    `Not connected to the gateway since ${at}: alarms cannot reach this page — the queue below may be missing alarms. ` +
    "This page keeps trying by itself. Check this computer's network; if it is not back within a minute, use another console and call the on-call engineer.";
  banner.hidden = false;
}

function connect() {
  const { mqtt: creds } = session;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${creds.path}`;
  setStatus("Connecting…", "connecting");
  client = connectMqtt(url, {
    protocolVersion: 4,
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
    clean: true,
    keepalive: 20,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
  });
  const current = client;
  current.on("connect", () => {
    setStatus("Connected to the gateway", "connected");
    clearRings();
    current.subscribe([ALARMS_TOPIC, CALL_UP_FILTER], { qos: 1 }, (err) => {
      if (err) setStatus(`Subscription refused: ${err.message}`, "offline");
    });
    void pages.loadAlarms();
  });
  current.on("reconnect", () => setStatus("Reconnecting…", "connecting"));
  current.on("offline", () => setStatus("Offline: reconnecting…", "offline"));
  current.on("error", (err) => {
    // Refused credentials: the session ended (logout elsewhere, expiry, operator removed). A gateway
    // restart ends none: the same token is accepted again once it is back (the stored sessions).
    if (err?.code === 4 || err?.code === 5) void checkSession();
  });
  current.on("message", (topic, payload, packet) => {
    let message;
    try {
      message = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (message === null || typeof message !== "object" || message.v !== 1) return;
    if (topic === ALARMS_TOPIC) onAlarm(message);
    else {
      const match = CALL_UP.exec(topic);
      // Call messages are never retained: a retained one is a kiosk's leftover (or forgery), replayed
      // at every (re)subscription, even after the kiosk was revoked.
      if (match !== null && packet?.retain !== true) onCallUp(match[1], message);
    }
  });
}

async function checkSession() {
  const { status } = await api("/api/session").catch(() => ({ status: 0 }));
  if (status === 401) {
    call?.end("ended", "logged out");
    stop();
    showLogin("Your session has ended: log in again.");
  }
}

function onAlarm(alarm) {
  if (typeof alarm.alertId !== "string" || typeof alarm.kioskId !== "string") return;
  // The bare alarm, at once (the event stream follows with its lifecycle); never re-open a closed one.
  if (alarms.cards.has(alarm.alertId)) return;
  alarms.upsert({ ...alarm, status: "received", pressCount: 1, acknowledgedBy: null, escalations: 0, steps: [] });
  ringer.update();
}

// --- calls -------------------------------------------------------------------------------------------
/**
 * A kiosk's call/up message (`kioskId` from its topic). A kiosk's messages may name only its own
 * alarms: the gateway checks, and so does this page — a ring is shown only on the card of an alarm of
 * that kiosk (from the gateway's alarm list or stream); one naming an alarm of another kiosk is ignored.
 */
function onCallUp(kioskId, message) {
  const { callId } = message;
  if (typeof callId !== "string") return;
  if (typeof message.alertId === "string" && !alarmOfKiosk(message.alertId, kioskId, true)) return;
  if (call !== null && call.callId === callId && call.kioskId === kioskId) {
    // Two pages accepted the same ring: the kiosk took the other one's accept. Stand down without
    // telling the kiosk (a hangup would end the other operator's call).
    const answering = message.type === "offer" || (message.type === "state" && message.state === "connecting");
    if (answering && typeof message.pageId === "string" && message.pageId !== PAGE_ID) {
      const who = message.operator === session?.operator ? "you, in another tab or window" : message.operator;
      call.end("ended", `answered by another operator (${who ?? "unknown"})`);
      return;
    }
    void call.handle(message);
    return;
  }
  if (message.type === "ring") {
    const { alertId } = message;
    if (typeof alertId !== "string" || alertId === "") return;
    if (alarmOfKiosk(alertId, kioskId, false)) showRing(callId, kioskId, alertId);
    else checkRing(callId, kioskId, alertId);
    return;
  }
  const pending = pendingRings.get(callId);
  if (pending?.kioskId === kioskId && message.type !== "ice") pendingRings.delete(callId);
  const ring = rings.get(callId);
  if (ring === undefined || ring.kioskId !== kioskId) return;
  // Progress on a call we did not accept: someone else answered, or the kiosk gave up.
  if (message.type === "hangup" || (message.type === "state" && (message.state === "ended" || message.state === "failed"))) {
    rings.delete(callId);
    alarms.setRinging(ring.alertId, `Call ended${message.reason ? `: ${message.reason}` : ""}`, false);
  } else if (message.type === "offer" || (message.type === "state" && message.state !== "ringing")) {
    rings.delete(callId);
    alarms.setRinging(ring.alertId, "Answered by another operator", false);
  }
  if (rings.size === 0 && call === null && sosCall.state === "ringing") setCallState("idle", null);
  showRingingKiosk();
  ringer.update();
}

/**
 * Whether `alertId` is an alarm of kiosk `kioskId` on this page. `unknownOk`: an alarm this page has
 * no card for passes (only a known alarm of another kiosk fails).
 */
function alarmOfKiosk(alertId, kioskId, unknownOk) {
  const card = alarms.cards.get(alertId);
  return card === undefined ? unknownOk : card.alarm.kioskId === kioskId;
}

function showRing(callId, kioskId, alertId) {
  rings.set(callId, { kioskId, alertId });
  alarms.setRinging(alertId, "The kiosk is calling", true);
  alarms.setAcceptEnabled(call === null);
  if (call === null) setCallState("ringing", null);
  ringer.update();
}

/**
 * A ring naming an alarm this page has not seen (the ring came before the alarm): the alarm is asked
 * for, and the ring shown only if it is open and that kiosk's. Repeated rings meanwhile wait with it.
 */
function checkRing(callId, kioskId, alertId) {
  pendingRings.set(callId, { kioskId, alertId });
  if (checking.has(alertId)) return;
  checking.add(alertId);
  void pages.refreshAlarm(alertId, true).then((alarm) => {
    checking.delete(alertId);
    for (const [id, ring] of pendingRings) {
      if (ring.alertId !== alertId) continue;
      pendingRings.delete(id);
      if (alarm?.kioskId === ring.kioskId && alarmOfKiosk(alertId, ring.kioskId, false)) showRing(id, ring.kioskId, alertId);
    }
  });
}

/** The alarm is closed: its kiosk's rings are stale (the kiosk stopped ringing when it heard so). */
function dropRingsOf(alertId) {
  for (const [id, ring] of rings) if (ring.alertId === alertId) rings.delete(id);
  if (rings.size === 0 && call === null && sosCall.state === "ringing") setCallState("idle", null);
  showRingingKiosk();
  ringer.update();
}

/** Every (re)connect: rings heard before it may have ended unseen; kiosks still calling ring again. */
function clearRings() {
  for (const ring of rings.values()) alarms.setRinging(ring.alertId, null, false);
  rings.clear();
  pendingRings.clear();
  if (call === null && sosCall.state === "ringing") setCallState("idle", null);
  ringer.update();
}

function accept(alertId) {
  if (call !== null || client === null) return;
  const entry = [...rings.entries()].reverse().find(([, ring]) => ring.alertId === alertId);
  if (entry === undefined) return;
  const [callId, ring] = entry;
  const kioskId = ring.kioskId;
  // The card's kiosk is the one the call goes to (never another kiosk ringing on its alarm).
  if (!alarmOfKiosk(alertId, kioskId, false)) return;
  rings.delete(callId);
  alarms.setRinging(alertId, "In call", false);
  alarms.setAcceptEnabled(false);
  Object.assign(sosCall, { callId, kioskId, alertId, muted: false, reason: null });
  $("call-kiosk").textContent = `with ${kioskLabel(kioskId, alertId)}`;
  $("call-end-reason").textContent = "";
  call = new Call({
    callId,
    kioskId,
    alertId,
    operator: session.operator,
    pageId: PAGE_ID,
    iceServers: session.iceServers ?? [],
    localStream: sosCall.localStream,
    send: (msg) => client?.publish(`sos/v1/kiosks/${kioskId}/call/down`, JSON.stringify(msg), { qos: 1 }),
    onState: (state, reason) => onCallState(state, reason),
    onRemoteStream: (stream) => {
      const video = $("remote-video");
      video.srcObject = stream;
      video.muted = false;
      video.play().catch(() => undefined);
    },
  });
  call.start();
  sosCall.pc = call.pc;
  call.setMuted(false);
  ringer.update();
}

function onCallState(state, reason) {
  setCallState(state, reason ?? null);
  if (state !== "ended" && state !== "failed") return;
  const ended = call;
  call = null;
  $("remote-video").srcObject = null;
  if (ended?.alertId) alarms.setRinging(ended.alertId, `Call ended${reason ? `: ${reason}` : ""}`, false);
  alarms.setAcceptEnabled(true);
  if (rings.size > 0) setCallState("ringing", reason ?? null);
  ringer.update();
}

/** "kiosk Name (id), address" from the alarm's card: the operator must know who is calling, and from where. */
function kioskLabel(kioskId, alertId) {
  const alarm = alarms.cards.get(alertId)?.alarm;
  const name = alarm?.kioskName ? `kiosk ${alarm.kioskName} (${kioskId})` : `kiosk ${kioskId}`;
  const address = alarm?.location?.address;
  return address ? `${name}, ${address}` : name;
}

/** While the panel says a kiosk is calling: which one (the newest ring), and how many more. */
function showRingingKiosk() {
  if (sosCall.state !== "ringing") return;
  const ringing = [...rings.values()];
  const newest = ringing.at(-1);
  const more = new Set(ringing.map((r) => r.kioskId));
  if (newest !== undefined) more.delete(newest.kioskId);
  $("call-kiosk").textContent = newest === undefined ? "" : `: ${kioskLabel(newest.kioskId, newest.alertId)}${more.size > 0 ? ` (and ${more.size} more)` : ""}`;
}

const STATE_TEXT = { idle: "No call", ringing: "A kiosk is calling", connecting: "Connecting…", connected: "Connected", ended: "Call ended", failed: "Call failed" };

function setCallState(state, reason) {
  sosCall.state = state;
  sosCall.reason = reason;
  $("call").dataset.state = state;
  $("call-state").textContent = STATE_TEXT[state] ?? state;
  if (state === "idle") $("call-kiosk").textContent = "";
  showRingingKiosk();
  if (reason) $("call-end-reason").textContent = reason;
  const inCall = state === "connecting" || state === "connected";
  $("hangup").disabled = !inCall;
  $("mute").disabled = !inCall || sosCall.localStream === null;
  if (!inCall) setMuted(false);
}

function setMuted(muted) {
  sosCall.muted = muted;
  call?.setMuted(muted);
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute microphone" : "Mute microphone";
}

$("mute").addEventListener("click", () => setMuted(!sosCall.muted));
$("hangup").addEventListener("click", () => call?.hangup("the operator hung up"));
// A reload or a closed tab is not the operator ending the call: the kiosk rings again for its caller.
window.addEventListener("pagehide", () => call?.hangup("the operator's console was closed or reloaded", "page-gone"));

// --- start: resume a live session (a reload keeps the operator logged in) ----------------------------
setCallState("idle", null);
api("/api/session")
  .then(({ status, body }) => (status === 200 ? start(body.data) : showLogin()))
  .catch(() => showLogin("Cannot reach the gateway."));
